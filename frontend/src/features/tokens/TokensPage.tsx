import { useState, type FormEvent } from "react";
import { tokensApi, type ApiToken, type ApiTokenCreated } from "../../api/tokens";
import { ConfirmDialog, CopyButton, Empty, ErrorBox, Field, Modal, Notice, Pager, StatusBadge } from "../../components/ui";
import { formatDate } from "../../lib/format";
import { useLoad } from "../../lib/hooks";
import { useAuth } from "../auth/AuthContext";
import { createTokenErrors, tokenCurl, tokenState, TOKEN_NAME_MAX, validateTokenName } from "./tokenLogic";

const PAGE_SIZE = 20;

/** The signed-in user's API tokens in this tenant: create (the key shown once), list, revoke. */
export function TokensPage() {
  const { me } = useAuth();
  const [page, setPage] = useState(1);
  const tokens = useLoad(() => tokensApi.list({ page, page_size: PAGE_SIZE }), [page]);
  const [creating, setCreating] = useState(false);
  const [revoking, setRevoking] = useState<ApiToken | null>(null);
  const rows = tokens.data?.results ?? [];

  return (
    <div className="page narrow">
      <div className="toolbar wrap">
        <h1>API tokens</h1>
        <span className="spacer" />
        <button className="primary" onClick={() => setCreating(true)} data-testid="token-create">Create token</button>
      </div>
      <p className="muted">
        A token lets a script, the SDK or the CLI call the API and the services as <b>{me?.user.username}</b> in
        tenant <b>{me?.tenant.name}</b>, with your role's rights. Send it as <span className="mono">X-Auth-Token</span> or{" "}
        <span className="mono">Authorization: Token &lt;key&gt;</span>. Revoke a token you no longer use.
      </p>
      <section className="panel">
        <ErrorBox message={tokens.error} />
        {rows.length > 0 ? (
          <div className="table-scroll">
            <table className="table" data-testid="token-list">
              <thead><tr><th>Name</th><th>Created</th><th>Last used</th><th>Status</th><th /></tr></thead>
              <tbody>
                {rows.map((t) => (
                  <tr key={t.id} data-testid="token-row" data-token-id={t.id} data-state={tokenState(t)}>
                    <td data-testid="token-name">{t.name || <span className="muted">(no name)</span>}</td>
                    <td>{formatDate(t.created_at)}</td>
                    <td>{t.last_used_at ? formatDate(t.last_used_at) : <span className="muted">never</span>}</td>
                    <td>
                      {t.revoked_at
                        ? <span title={`revoked ${formatDate(t.revoked_at)}`}><StatusBadge status="revoked" testId="token-state" /></span>
                        : <StatusBadge status="active" testId="token-state" />}
                    </td>
                    <td className="actions">
                      {!t.revoked_at && <button className="link danger" onClick={() => setRevoking(t)} data-testid="token-revoke">Revoke</button>}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ) : tokens.data !== undefined && <Empty>No API tokens yet.</Empty>}
        {tokens.data && tokens.data.count > PAGE_SIZE && <Pager page={page} pageSize={PAGE_SIZE} count={tokens.data.count} onPage={setPage} />}
      </section>

      {creating && (
        <CreateTokenDialog
          onCreated={() => { setPage(1); void tokens.reload(); }}
          onClose={() => setCreating(false)}
        />
      )}
      {revoking && (
        <ConfirmDialog
          title="Revoke token"
          danger
          confirmLabel="Revoke"
          message={<>Revoke <b>{revoking.name || "this token"}</b>? Every script and service call using it is refused from now on. This cannot be undone.</>}
          onConfirm={async () => {
            await tokensApi.revoke(revoking.id);
            await tokens.reload();
          }}
          onClose={() => setRevoking(null)}
        />
      )}
    </div>
  );
}

function CreateTokenDialog({ onCreated, onClose }: { onCreated: () => void; onClose: () => void }) {
  const [name, setName] = useState("");
  const [touched, setTouched] = useState(false);
  const [errors, setErrors] = useState<{ name?: string; other?: string }>({});
  const [busy, setBusy] = useState(false);
  const [created, setCreated] = useState<ApiTokenCreated | null>(null);
  const invalid = validateTokenName(name);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setTouched(true);
    if (invalid) return;
    setBusy(true);
    setErrors({});
    try {
      setCreated(await tokensApi.create(name.trim()));
      onCreated();
    } catch (err) {
      setErrors(createTokenErrors(err));
    } finally {
      setBusy(false);
    }
  };

  if (created) {
    return (
      <Modal
        title="Token created"
        onClose={onClose}
        testId="token-dialog"
        wide
        footer={<button className="primary" onClick={onClose} data-testid="token-done">I have copied it</button>}
      >
        <Notice kind="warn">Copy this token now: it is shown only once and cannot be read again. If you lose it, revoke it and create another.</Notice>
        <div className="toolbar">
          <b>{created.name}</b>
          <span className="spacer" />
          <CopyButton text={created.key} testId="token-key-copy" />
        </div>
        <pre className="code" data-testid="token-key">{created.key}</pre>
        <p className="muted small">Try it:</p>
        <pre className="code">{tokenCurl(created.key, window.location.origin)}</pre>
      </Modal>
    );
  }
  return (
    <Modal title="Create API token" onClose={onClose} testId="token-dialog">
      <form onSubmit={submit}>
        <Field label="Name" error={(touched && invalid) || errors.name} hint={`What or who uses it, e.g. "nightly export" (at most ${TOKEN_NAME_MAX} characters).`} required>
          <input autoFocus maxLength={TOKEN_NAME_MAX + 20} value={name} onChange={(e) => setName(e.target.value)} data-testid="token-name-input" />
        </Field>
        <ErrorBox message={errors.other} />
        <div className="form-actions">
          <button type="button" onClick={onClose}>Cancel</button>
          <button className="primary" type="submit" disabled={busy} data-testid="token-submit">
            {busy ? "Creating…" : "Create token"}
          </button>
        </div>
      </form>
    </Modal>
  );
}

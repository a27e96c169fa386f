import { useState, type FormEvent } from "react";
import { errorText } from "../../api/client";
import { membersApi, teamApi, type Member } from "../../api/team";
import type { Role } from "../../api/types";
import { ConfirmDialog, Empty, ErrorBox, Field, Pager } from "../../components/ui";
import { formatDate } from "../../lib/format";
import { useLoad } from "../../lib/hooks";
import { useAuth } from "../auth/AuthContext";
import { DatasetPicker, useLabelDatasets } from "./DatasetPicker";
import { grantableRoles, inviteErrors, ROLE_HINTS } from "./teamLogic";

const PAGE_SIZE = 50;

/** The tenant's members and roles; owners and admins invite, change roles and remove. */
export function TeamPage() {
  const { me, can } = useAuth();
  const manage = can("manage");
  const [page, setPage] = useState(1);
  const members = useLoad(() => membersApi.list({ page, page_size: PAGE_SIZE }), [page]);
  const [removing, setRemoving] = useState<Member | null>(null);
  const [error, setError] = useState<string | null>(null);
  const grantable = grantableRoles(me?.role);

  const changeRole = async (m: Member, role: Role) => {
    setError(null);
    try {
      await membersApi.setRole(m.username, role);
      await members.reload();
    } catch (err) {
      setError(`${m.username}: ${errorText(err)}`);
    }
  };

  return (
    <div className="page">
      <h1>Team</h1>
      <p className="muted">Who works in <b>{me?.tenant.name}</b> and with which role. Labelers label the tasks given to them; reviewers accept or reject them.</p>
      {manage && <InviteForm roles={grantable} onInvited={() => void members.reload()} />}
      <section className="panel">
        <ErrorBox message={members.error} />
        <ErrorBox message={error} />
        {members.data && members.data.results.length === 0 ? <Empty>No members.</Empty> : (
          <div className="x-scroll">
            <table className="table" data-testid="member-list">
              <thead><tr><th>Username</th><th>Role</th><th>Joined</th><th /></tr></thead>
              <tbody>
                {members.data?.results.map((m) => {
                  const editable = manage && m.username !== me?.user.username && (m.role !== "owner" || me?.role === "owner");
                  return (
                    <tr key={m.username} data-testid={`member-row-${m.username}`} data-role={m.role}>
                      <td>{m.username}{m.username === me?.user.username && <span className="muted small"> (you)</span>}</td>
                      <td>
                        {editable ? (
                          <select value={m.role} onChange={(e) => void changeRole(m, e.target.value as Role)} data-testid="member-role" aria-label={`Role of ${m.username}`}>
                            {grantable.map((r) => <option key={r} value={r}>{r}</option>)}
                          </select>
                        ) : <span className="role-badge" data-testid="member-role-text">{m.role}</span>}
                      </td>
                      <td className="small">{formatDate(m.joined_at)}</td>
                      <td className="actions">
                        {editable && <button className="link danger" onClick={() => setRemoving(m)} data-testid="member-remove">Remove</button>}
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        )}
        {members.data && members.data.count > PAGE_SIZE && <Pager page={page} pageSize={PAGE_SIZE} count={members.data.count} onPage={setPage} />}
      </section>
      <ActivityPanel />
      {removing && (
        <ConfirmDialog title="Remove member" danger confirmLabel="Remove"
          message={<>Remove <b>{removing.username}</b> from {me?.tenant.name}? Their work stays; their API tokens stop and their open tasks lose their assignee.</>}
          onConfirm={async () => { await membersApi.remove(removing.username); await members.reload(); }}
          onClose={() => setRemoving(null)} />
      )}
    </div>
  );
}

function InviteForm({ roles, onInvited }: { roles: Role[]; onInvited: () => void }) {
  const [username, setUsername] = useState("");
  const [role, setRole] = useState<Role>("labeler");
  const [password, setPassword] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const invalid = inviteErrors({ username, password });
    setError(invalid);
    setDone(null);
    if (invalid) return;
    setBusy(true);
    try {
      const m = await membersApi.invite({ username: username.trim(), role, ...(password ? { password } : {}) });
      setDone(`${m.username} joined as ${m.role}.`);
      setUsername("");
      setPassword("");
      onInvited();
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <section className="panel">
      <h2>Add a member</h2>
      <form className="toolbar wrap" onSubmit={submit} data-testid="invite-form">
        <Field label="Username" required>
          <input value={username} onChange={(e) => setUsername(e.target.value)} autoComplete="off" data-testid="invite-username" />
        </Field>
        <Field label="Role" hint={ROLE_HINTS[role]}>
          <select value={role} onChange={(e) => setRole(e.target.value as Role)} data-testid="invite-role">
            {roles.map((r) => <option key={r} value={r}>{r}</option>)}
          </select>
        </Field>
        <Field label="Password" hint="Only for a new account; an existing one keeps its own.">
          <input type="password" value={password} onChange={(e) => setPassword(e.target.value)} autoComplete="new-password" data-testid="invite-password" />
        </Field>
        <button className="primary" type="submit" disabled={busy} data-testid="invite-submit">{busy ? "Adding…" : "Add"}</button>
      </form>
      <ErrorBox message={error} />
      {done && <p className="muted small" data-testid="invite-done">{done}</p>}
    </section>
  );
}

/** Per-member labeling and review figures of one dataset over the last 14 days. */
function ActivityPanel() {
  const datasets = useLabelDatasets();
  const [chosen, setDatasetId] = useState<string | null>(null);
  const datasetId = chosen ?? datasets[0]?.id ?? null;
  const activity = useLoad(() => (datasetId ? teamApi.activity(datasetId, 14) : Promise.resolve([])), [datasetId]);
  const rows = activity.data ?? [];
  return (
    <section className="panel">
      <div className="toolbar wrap">
        <h2>Activity (14 days)</h2>
        <span className="spacer" />
        <DatasetPicker datasets={datasets} value={datasetId} onChange={setDatasetId} testId="activity-dataset" />
      </div>
      <ErrorBox message={activity.error} />
      {datasetId && rows.length === 0 && !activity.loading && <Empty>No labeling in this dataset in the last 14 days.</Empty>}
      {rows.length > 0 && (
        <div className="x-scroll">
          <table className="table" data-testid="activity-table">
            <thead><tr><th>Member</th><th>Labelled</th><th>Reviewed</th><th>Accepted</th><th>Rejected</th><th>Acceptance</th><th>Median s/sample</th></tr></thead>
            <tbody>
              {rows.map((r) => (
                <tr key={r.username} data-testid={`activity-row-${r.username}`}>
                  <td>{r.username}</td>
                  <td className="num">{r.samples_labeled}</td>
                  <td className="num">{r.reviewed}</td>
                  <td className="num">{r.accepted}</td>
                  <td className="num">{r.rejected}</td>
                  <td className="num">{r.acceptance_rate === null ? "—" : `${Math.round(r.acceptance_rate * 100)}%`}</td>
                  <td className="num">{r.median_seconds_per_sample === null ? "—" : r.median_seconds_per_sample.toFixed(1)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

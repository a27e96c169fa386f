import { useState, type FormEvent } from "react";
import { errorText } from "../../api/client";
import { membersApi, teamApi, type AgreementFigures, type Member } from "../../api/team";
import type { Role } from "../../api/types";
import { ConfirmDialog, Empty, ErrorBox, Field, Pager } from "../../components/ui";
import { formatDate } from "../../lib/format";
import { useLoad } from "../../lib/hooks";
import { useAuth } from "../auth/AuthContext";
import { DatasetPicker, useLabelDatasets } from "./DatasetPicker";
import { grantableRoles, inviteErrors, percentText, ROLE_HINTS, scoreText } from "./teamLogic";

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

/** Per-member labeling and review figures of one dataset over the last 14 days, and how much
 *  its labelers agree. */
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
      {datasetId && <AgreementPanel datasetId={datasetId} detection={datasets.find((d) => d.id === datasetId)?.type === "object_detection"} />}
    </section>
  );
}

/** Between labelers on the overlap samples, and each labeler against the reviewed result. */
function AgreementPanel({ datasetId, detection }: { datasetId: string; detection: boolean }) {
  const agreement = useLoad(() => teamApi.agreement(datasetId), [datasetId]);
  const a = agreement.data;
  const between = a?.between_labelers;
  return (
    <div className="agreement" data-testid="agreement">
      <h3>Agreement</h3>
      <ErrorBox message={agreement.error} />
      {a && between && (between.samples === 0 ? (
        <Empty>
          <span data-testid="agreement-empty">
            No samples were labelled by two people yet. To measure agreement, give a share of samples to two labelers when creating tasks
            (Tasks page: “Overlap for agreement”); each labels them blind.
          </span>
        </Empty>
      ) : (
        <>
          <p className="small" data-testid="agreement-between">
            Between labelers: <b data-testid="agreement-samples">{between.samples}</b> sample{between.samples === 1 ? "" : "s"} labelled twice ·
            identical <b data-testid="agreement-exact">{percentText(between.exact)}</b> ·{" "}
            {detection ? <>box F1 <b data-testid="agreement-f1">{scoreText(between.f1)}</b></> : <>Cohen's kappa <b data-testid="agreement-kappa">{scoreText(between.kappa)}</b></>}
          </p>
          {between.labels.length > 0 && <LabelAgreementTable figures={between} detection={detection} />}
          {a.pairs.length > 1 && (
            <div className="x-scroll">
              <table className="table" data-testid="agreement-pairs">
                <thead><tr><th>Labelers</th><th>Samples</th><th>Identical</th><th>{detection ? "F1" : "Kappa"}</th></tr></thead>
                <tbody>
                  {a.pairs.map((p) => (
                    <tr key={p.labelers.join("|")}>
                      <td>{p.labelers.join(" & ")}</td>
                      <td className="num">{p.samples}</td>
                      <td className="num">{percentText(p.exact)}</td>
                      <td className="num">{scoreText(detection ? p.f1 : p.kappa)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </>
      ))}
      {a && (
        <>
          <h4>Each labeler vs the reviewed result</h4>
          {a.with_reviewed.length === 0 ? (
            <p className="muted small" data-testid="agreement-reviewed-empty">No reviewed samples yet: accepted samples are compared with what their labeler first submitted.</p>
          ) : (
            <div className="x-scroll">
              <table className="table" data-testid="agreement-reviewed">
                <thead><tr><th>Labeler</th><th>Samples</th><th>Identical</th><th>{detection ? "F1" : "Kappa"}</th></tr></thead>
                <tbody>
                  {a.with_reviewed.map((r) => (
                    <tr key={r.username} data-testid={`agreement-reviewed-${r.username}`}>
                      <td>{r.username}</td>
                      <td className="num">{r.samples}</td>
                      <td className="num">{percentText(r.exact)}</td>
                      <td className="num">{scoreText(detection ? r.f1 : r.kappa)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </>
      )}
    </div>
  );
}

function LabelAgreementTable({ figures, detection }: { figures: AgreementFigures; detection: boolean }) {
  return (
    <div className="x-scroll">
      <table className="table" data-testid="agreement-labels">
        <thead>
          <tr><th>Label</th>{detection ? <><th>Boxes</th><th>F1</th></> : <><th>Agreement</th><th>Kappa</th></>}</tr>
        </thead>
        <tbody>
          {figures.labels.map((l) => (
            <tr key={l.label} data-testid={`agreement-label-${l.label}`}>
              <td>{l.label}</td>
              {detection ? (
                <><td className="num">{l.boxes ?? "—"}</td><td className="num">{scoreText(l.f1)}</td></>
              ) : (
                <><td className="num">{percentText(l.agreement)}</td><td className="num">{scoreText(l.kappa)}</td></>
              )}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}


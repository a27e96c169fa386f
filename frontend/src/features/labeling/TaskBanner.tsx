import { useState } from "react";
import { Link } from "react-router-dom";
import { errorText } from "../../api/client";
import { allPages } from "../../api/lists";
import { tasksApi } from "../../api/team";
import type { Sample } from "../../api/types";
import { ErrorBox, ProgressBar } from "../../components/ui";
import { useLoad } from "../../lib/hooks";
import { useAuth } from "../auth/AuthContext";
import { reviewOf, TASK_STATUS_TITLE, taskProgress } from "../team/teamLogic";

/**
 * The labeling view filtered to one task: its name and progress, Submit for review (the
 * assignee), and the samples review sent back with the reviewer's comment.
 * `changed` is anything that changes when a label is saved (the banner reloads with it).
 */
export function TaskBanner(props: { datasetId: string; taskId: string; changed: unknown; onSubmitted: () => void }) {
  const { datasetId, taskId } = props;
  const { me } = useAuth();
  const task = useLoad(() => tasksApi.get(datasetId, taskId), [datasetId, taskId, props.changed]);
  const rejected = useLoad(
    async () => (await allPages<Sample>(`/api/v1/datasets/${datasetId}/samples`, { task: taskId })).filter((s) => reviewOf(s).status === "rejected"),
    [datasetId, taskId, props.changed],
  );
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const t = task.data;
  const submit = async () => {
    setError(null);
    setBusy(true);
    try {
      task.setData(await tasksApi.submit(datasetId, taskId));
      props.onSubmitted();
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  const progress = t ? taskProgress(t) : null;
  return (
    <section className="panel" data-testid="task-banner" data-status={t?.status ?? ""}>
      <div className="task-banner">
        <b data-testid="task-banner-name">Task {t?.name ?? "…"}</b>
        {progress && <span data-testid="task-banner-progress">— {progress.text}</span>}
        {t && <span className="badge" data-testid="task-banner-status">{TASK_STATUS_TITLE[t.status]}</span>}
        {t?.kind === "overlap" && <span className="badge" title="A blind second labelling for agreement: your answers are kept apart and the samples' labels stay as they are" data-testid="task-kind">overlap</span>}
        {t && t.assignee !== me?.user.username && <span className="muted small">assigned to {t.assignee ?? "nobody"}</span>}
        <span className="spacer" />
        {t && t.status === "open" && t.assignee === me?.user.username && (
          <button className="primary" disabled={busy} onClick={() => void submit()} data-testid="task-banner-submit">{t.kind === "overlap" ? "Submit" : "Submit for review"}</button>
        )}
        <Link className="link small" to={`/tasks?dataset=${datasetId}`} data-testid="task-banner-tasks">All tasks</Link>
        <Link className="link small" to="." data-testid="task-banner-leave">Leave task view</Link>
      </div>
      {progress && <ProgressBar value={progress.fraction} label={progress.text} />}
      {t?.status === "in_review" && <p className="muted small">Submitted: the samples stay as they are until the review is done.</p>}
      <ErrorBox message={task.error} />
      <ErrorBox message={error} />
      {(rejected.data ?? []).length > 0 && (
        <div className="notice warn" data-testid="task-rejected">
          <b>Sent back by review</b> — fix these and submit again:
          <ul>
            {rejected.data!.map((s) => (
              <li key={s.id} data-testid="task-rejected-item" data-sample-id={s.id}>
                <b>{s.name}</b>: <span data-testid="task-rejected-comment">{reviewOf(s).comment}</span>
                {reviewOf(s).by && <span className="muted small"> ({reviewOf(s).by})</span>}
              </li>
            ))}
          </ul>
        </div>
      )}
    </section>
  );
}

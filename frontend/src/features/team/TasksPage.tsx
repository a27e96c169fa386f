import { useState } from "react";
import { Link, useSearchParams } from "react-router-dom";
import { errorText } from "../../api/client";
import { allPages } from "../../api/lists";
import { membersApi, tasksApi, type LabelingTask, type Member } from "../../api/team";
import type { Project } from "../../api/types";
import { ConfirmDialog, Empty, ErrorBox, ProgressBar } from "../../components/ui";
import { formatDate } from "../../lib/format";
import { useLoad } from "../../lib/hooks";
import { useAuth } from "../auth/AuthContext";
import { CreateTasksForm } from "./CreateTasksForm";
import { DatasetPicker, useLabelDatasets } from "./DatasetPicker";
import { ReviewPanel } from "./ReviewPanel";
import { canLabelRole, TASK_STATUS_TITLE, taskProgress } from "./teamLogic";

/** The project that labels a dataset (the labeling view lives under it). */
export function useProjectOf(datasetId: string | null) {
  return useLoad(
    async () => (datasetId ? (await allPages<Project>("/api/v1/projects")).find((p) => p.dataset?.id === datasetId) ?? null : null),
    [datasetId],
  );
}

/** Labeling tasks of a dataset: create (assign), follow, open, submit, review, cancel. */
export function TasksPage() {
  const { me, can } = useAuth();
  const [params, setParams] = useSearchParams();
  const datasets = useLabelDatasets();
  // ?dataset=<id>, or the first dataset until one is picked.
  const datasetId = params.get("dataset") ?? datasets[0]?.id ?? null;
  // Labelers see their own tasks first; everyone else the whole dataset.
  const mine = params.has("mine") ? params.get("mine") === "1" : me?.role === "labeler";
  const reviewing = params.get("review");
  const set = (changes: Record<string, string | null>) =>
    setParams((p) => {
      const n = new URLSearchParams(p);
      for (const [k, v] of Object.entries(changes)) if (v === null) n.delete(k); else n.set(k, v);
      return n;
    });

  const tasks = useLoad(
    () => (datasetId ? tasksApi.list(datasetId, { assignee: mine ? "me" : undefined, page_size: 100 }) : Promise.resolve(null)),
    [datasetId, mine],
  );
  const members = useLoad(() => (can("assign") ? membersApi.list({ page_size: 100 }) : Promise.resolve(null)), []);
  const labelers = (members.data?.results ?? []).filter((m) => canLabelRole(m.role));
  const project = useProjectOf(datasetId);
  const rows = tasks.data?.results ?? [];
  const reviewTask = reviewing ? rows.find((t) => t.id === reviewing) : undefined;

  return (
    <div className="page">
      <div className="toolbar wrap">
        <h1>Tasks</h1>
        <span className="spacer" />
        <DatasetPicker datasets={datasets} value={datasetId} onChange={(id) => set({ dataset: id, review: null })} testId="tasks-dataset" />
        <label className="small">
          <input type="checkbox" checked={mine} onChange={(e) => set({ mine: e.target.checked ? "1" : "0" })} data-testid="tasks-mine" /> My tasks
        </label>
      </div>
      {datasetId && can("assign") && (
        <CreateTasksForm datasetId={datasetId} labelers={labelers} onCreated={() => void tasks.reload()} />
      )}
      <section className="panel">
        <ErrorBox message={tasks.error} />
        <ErrorBox message={project.error} />
        {tasks.data && rows.length === 0 && <Empty>{mine ? "No tasks are assigned to you in this dataset." : "No tasks in this dataset yet."}</Empty>}
        {rows.length > 0 && (
          <div className="x-scroll">
            <table className="table" data-testid="task-list">
              <thead><tr><th>Task</th><th>Assignee</th><th>Status</th><th>Progress</th><th>Created</th><th /></tr></thead>
              <tbody>
                {rows.map((t) => (
                  <TaskRow key={t.id} task={t} projectId={project.data?.id ?? null} labelers={labelers}
                    onChanged={() => void tasks.reload()} onReview={() => set({ review: t.id })} />
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
      {reviewTask && datasetId && reviewTask.status === "in_review" && (
        <ReviewPanel key={reviewTask.id} datasetId={datasetId} task={reviewTask} type={project.data?.type}
          onClose={() => set({ review: null })} onDone={() => { set({ review: null }); void tasks.reload(); }} />
      )}
    </div>
  );
}

function TaskRow(props: { task: LabelingTask; projectId: string | null; labelers: Member[]; onChanged: () => void; onReview: () => void }) {
  const { task: t } = props;
  const { me, can } = useAuth();
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [cancelling, setCancelling] = useState(false);
  const mineTask = !!me && t.assignee === me.user.username;
  const active = t.status === "open" || t.status === "in_review";
  const progress = taskProgress(t);
  const run = async (action: () => Promise<unknown>) => {
    setError(null);
    setBusy(true);
    try {
      await action();
      props.onChanged();
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <tr data-testid={`task-row-${t.name}`} data-task-id={t.id} data-status={t.status} data-assignee={t.assignee ?? ""} data-kind={t.kind}>
      <td>
        {t.name}
        {t.kind === "overlap" && (
          <>{" "}<span className="badge" title="A second, blind labelling of samples another task holds, for agreement; done on submit (no review)" data-testid="task-kind">overlap</span></>
        )}
        {t.returned > 0 && <span className="muted small" title="Times review sent it back"> · returned {t.returned}×</span>}
        <ErrorBox message={error} />
      </td>
      <td>
        {can("assign") && t.status === "open" ? (
          <select value={t.assignee ?? ""} disabled={busy} aria-label={`Assignee of ${t.name}`} data-testid="task-assignee"
            onChange={(e) => void run(() => tasksApi.update(t.dataset, t.id, { assignee: e.target.value }))}>
            {!t.assignee && <option value="">(nobody)</option>}
            {t.assignee && !props.labelers.some((m) => m.username === t.assignee) && <option value={t.assignee}>{t.assignee}</option>}
            {props.labelers.map((m) => <option key={m.username} value={m.username}>{m.username}</option>)}
          </select>
        ) : t.assignee ?? <span className="muted">nobody</span>}
      </td>
      <td><span className={`badge ${t.status === "done" ? "ok" : t.status === "in_review" ? "run" : t.status === "open" ? "wait" : "idle"}`} data-testid="task-status">{TASK_STATUS_TITLE[t.status]}</span></td>
      <td><ProgressBar value={progress.fraction} label={progress.text} testId="task-progress" /></td>
      <td className="small">{formatDate(t.created_at)}</td>
      <td className="actions">
        {mineTask && t.status === "open" && props.projectId && (
          <Link className="link" to={`/projects/${props.projectId}/label?task=${t.id}`} data-testid="task-open">Open</Link>
        )}
        {mineTask && t.status === "open" && (
          <button className="link" disabled={busy} onClick={() => void run(() => tasksApi.submit(t.dataset, t.id))} data-testid="task-submit">{t.kind === "overlap" ? "Submit" : "Submit for review"}</button>
        )}
        {can("review") && t.status === "in_review" && !mineTask && (
          <button className="link" onClick={props.onReview} data-testid="task-review">Review</button>
        )}
        {can("assign") && active && (
          <button className="link danger" disabled={busy} onClick={() => setCancelling(true)} data-testid="task-cancel">Cancel</button>
        )}
        {cancelling && (
          <ConfirmDialog title="Cancel task" danger confirmLabel="Cancel task"
            message={<>Cancel <b>{t.name}</b>? Its samples are freed (their labels stay) and can go into a new task.</>}
            onConfirm={async () => { await tasksApi.cancel(t.dataset, t.id); props.onChanged(); }}
            onClose={() => setCancelling(false)} />
        )}
      </td>
    </tr>
  );
}

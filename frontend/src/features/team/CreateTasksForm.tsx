import { useState, type FormEvent } from "react";
import { errorText } from "../../api/client";
import { tasksApi, type Member, type TaskOrder } from "../../api/team";
import { ErrorBox, Field } from "../../components/ui";
import { createTaskErrors, MAX_OVERLAP_PERCENT, overlapFraction } from "./teamLogic";

/** Split the dataset's unlabelled, unassigned samples into tasks for the chosen members. */
export function CreateTasksForm(props: { datasetId: string; labelers: Member[]; onCreated: () => void }) {
  const [assignees, setAssignees] = useState<string[]>([]);
  const [split, setSplit] = useState<"per_task" | "by_folder">("per_task");
  const [perTask, setPerTask] = useState("50");
  const [maxSamples, setMaxSamples] = useState("");
  const [order, setOrder] = useState<TaskOrder>("source");
  const [overlap, setOverlap] = useState("0");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const toggle = (name: string) => setAssignees((a) => (a.includes(name) ? a.filter((x) => x !== name) : [...a, name]));

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    // With fewer than two assignees the field is disabled: nothing is shared.
    const overlapText = assignees.length >= 2 ? overlap : "0";
    const invalid = createTaskErrors({ assignees, split, perTask, maxSamples, overlap: overlapText });
    setError(invalid);
    setDone(null);
    if (invalid) return;
    setBusy(true);
    try {
      const made = await tasksApi.create(props.datasetId, {
        assignees,
        order,
        ...(split === "by_folder" ? { by_folder: true } : { per_task: Number(perTask) }),
        ...(maxSamples.trim() ? { max_samples: Number(maxSamples) } : {}),
        ...(overlapFraction(overlapText) ? { overlap: overlapFraction(overlapText)! } : {}),
      });
      setDone(`${made.length} task${made.length === 1 ? "" : "s"} created.`);
      props.onCreated();
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="panel">
      <h2>Create tasks</h2>
      <form onSubmit={submit} data-testid="task-create-form">
        <Field label="Assignees" hint="Members who can label (owner, admin, member, labeler); tasks go to them in turn.">
          <span className="chips" data-testid="task-assignees">
            {props.labelers.map((m) => (
              <label key={m.username} className="chip">
                <input type="checkbox" checked={assignees.includes(m.username)} onChange={() => toggle(m.username)}
                  data-testid={`task-assignee-${m.username}`} /> {m.username} <span className="muted">({m.role})</span>
              </label>
            ))}
          </span>
        </Field>
        <div className="toolbar wrap">
          <label className="small">
            <input type="radio" name="split" checked={split === "per_task"} onChange={() => setSplit("per_task")} data-testid="task-split-per-task" />{" "}
            Samples per task{" "}
            <input type="number" min={1} value={perTask} disabled={split !== "per_task"} onChange={(e) => setPerTask(e.target.value)} style={{ width: 80 }} data-testid="task-per-task" />
          </label>
          <label className="small">
            <input type="radio" name="split" checked={split === "by_folder"} onChange={() => setSplit("by_folder")} data-testid="task-split-by-folder" /> One task per folder
          </label>
          <label className="small">
            Order{" "}
            <select value={order} onChange={(e) => setOrder(e.target.value as TaskOrder)} data-testid="task-order">
              <option value="source">As imported</option>
              <option value="label_next">Label these next (model least sure first)</option>
            </select>
          </label>
          <label className="small">
            At most{" "}
            <input type="number" min={1} value={maxSamples} placeholder="all" onChange={(e) => setMaxSamples(e.target.value)} style={{ width: 80 }} data-testid="task-max-samples" />{" "}
            samples
          </label>
          <label className="small" title="That share of the samples also goes, blind, to a second labeler in an extra task; the Team page compares their answers.">
            Overlap for agreement{" "}
            <input type="number" min={0} max={MAX_OVERLAP_PERCENT} step={1} value={assignees.length >= 2 ? overlap : "0"} disabled={assignees.length < 2}
              onChange={(e) => setOverlap(e.target.value)} style={{ width: 64 }} data-testid="task-overlap" /> %
            {assignees.length < 2 && <span className="muted" data-testid="task-overlap-hint"> (check two assignees or more)</span>}
          </label>
          <span className="spacer" />
          <button className="primary" type="submit" disabled={busy} data-testid="task-create">{busy ? "Creating…" : "Create tasks"}</button>
        </div>
      </form>
      <ErrorBox message={error} />
      {done && <p className="muted small" data-testid="task-created">{done}</p>}
    </section>
  );
}

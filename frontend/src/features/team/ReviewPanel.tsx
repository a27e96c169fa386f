import { useState } from "react";
import { errorText } from "../../api/client";
import { datasetsApi } from "../../api/datasets";
import { allPages } from "../../api/lists";
import { tasksApi, teamApi, type AnnotationEvent, type LabelingTask, type ReviewDecision } from "../../api/team";
import type { ProjectType, Sample } from "../../api/types";
import { ErrorBox, Loading } from "../../components/ui";
import { formatDate } from "../../lib/format";
import { useLoad } from "../../lib/hooks";
import { ImageWithBoxes, LabelChips } from "../labeling/SampleGrid";
import { lastLabelEvent, reviewDecisions, reviewOf, sourceTitle, type Draft } from "./teamLogic";

/** A task in review: each sample with its labels and who made them; accept, or reject with a comment. */
export function ReviewPanel(props: { datasetId: string; task: LabelingTask; type?: ProjectType; onClose: () => void; onDone: () => void }) {
  const { datasetId, task } = props;
  const samples = useLoad(() => allPages<Sample>(`/api/v1/datasets/${datasetId}/samples`, { task: task.id }), [datasetId, task.id]);
  const labels = useLoad(() => datasetsApi.labels(datasetId), [datasetId]);
  const list = samples.data ?? [];
  // Who made each sample's labels, a person or a model suggestion, and when: its history's last
  // labeling event (the assignee while it loads).
  const who = useLoad(async () => {
    const pairs = await Promise.all(list.map(async (s) => {
      const events = await teamApi.history(datasetId, s.id).catch(() => null);
      return [s.id, events ? lastLabelEvent(events.results) : null] as const;
    }));
    return Object.fromEntries(pairs) as Record<string, AnnotationEvent | null>;
  }, [samples.data]);
  const [drafts, setDrafts] = useState<Record<string, Draft>>({});
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const open = list.filter((s) => reviewOf(s).status !== "accepted");
  const draft = (id: string): Draft => drafts[id] ?? { decision: null, comment: "" };
  const setDraft = (id: string, change: Partial<Draft>) => {
    setError(null);
    setDrafts((d) => ({ ...d, [id]: { ...draft(id), ...change } }));
  };
  const decide = (id: string, decision: ReviewDecision) => setDraft(id, { decision: draft(id).decision === decision ? null : decision });

  const send = async () => {
    const { items, error: invalid } = reviewDecisions(open.map((s) => s.id), drafts);
    setError(invalid);
    if (invalid) return;
    setBusy(true);
    try {
      await tasksApi.review(datasetId, task.id, items);
      props.onDone();
    } catch (err) {
      setError(errorText(err));
      void samples.reload();
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="panel" data-testid="review-panel">
      <div className="toolbar wrap">
        <h2>Review {task.name}</h2>
        <span className="muted small">labelled by {task.assignee ?? "nobody"}</span>
        <span className="spacer" />
        <button onClick={() => setDrafts((d) => Object.fromEntries(open.map((s) => [s.id, d[s.id]?.decision ? d[s.id] : { decision: "accept" as const, comment: "" }])))}
          disabled={!open.length} data-testid="review-accept-rest">Accept all undecided</button>
        <button onClick={props.onClose}>Close</button>
      </div>
      <ErrorBox message={samples.error} />
      {!samples.data && !samples.error && <Loading what="samples" />}
      <div className="review-list">
        {list.map((s) => {
          const review = reviewOf(s);
          const d = draft(s.id);
          const made = who.data?.[s.id] ?? null;
          const by = made?.username ?? task.assignee;
          return (
            <div key={s.id} className="review-item panel" data-testid="review-item" data-sample-id={s.id} data-decision={d.decision ?? ""} data-review={review.status}>
              <div className="review-content">
                {(props.type === "image_classification" || props.type === "object_detection") && <ImageWithBoxes sample={s} labels={labels.data ?? []} className="review-thumb" />}
                {props.type === "sound_classification" && <audio controls preload="none" src={s.content_url} />}
                {s.text && <p className="review-text">{s.text}</p>}
              </div>
              <div className="review-side">
                <div className="small"><b>{s.name}</b></div>
                <LabelChips names={props.type === "object_detection" ? [...new Set(s.objects.map((o) => o.label))] : s.labels} labels={labels.data ?? []} />
                <div className="muted small" data-testid="review-labelled-by" data-source={made?.source ?? ""}>
                  labelled by {by ?? "—"}
                  {made && <> · <span data-testid="review-labelled-source">{sourceTitle(made.source)}</span> · {formatDate(made.created_at)}</>}
                </div>
                {review.status === "accepted" ? (
                  <span className="badge ok">Accepted</span>
                ) : (
                  <>
                    <div className="toolbar">
                      <button className={d.decision === "accept" ? "primary" : ""} onClick={() => decide(s.id, "accept")} data-testid="review-accept">Accept</button>
                      <button className={d.decision === "reject" ? "danger" : ""} onClick={() => decide(s.id, "reject")} data-testid="review-reject">Reject</button>
                    </div>
                    {d.decision === "reject" && (
                      <textarea rows={2} placeholder="What is wrong (the labeler sees this)" value={d.comment}
                        onChange={(e) => setDraft(s.id, { comment: e.target.value })} data-testid="review-comment" />
                    )}
                    {review.comment && <div className="muted small">Earlier: {review.comment}</div>}
                  </>
                )}
              </div>
            </div>
          );
        })}
      </div>
      <ErrorBox message={error} />
      <div className="form-actions">
        <button className="primary" disabled={busy || !open.length} onClick={() => void send()} data-testid="review-send">
          {busy ? "Sending…" : "Send decisions"}
        </button>
      </div>
    </section>
  );
}

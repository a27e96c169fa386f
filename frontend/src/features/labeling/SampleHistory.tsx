import { useState } from "react";
import { teamApi } from "../../api/team";
import type { Sample } from "../../api/types";
import { ErrorBox, Loading } from "../../components/ui";
import { formatDate } from "../../lib/format";
import { useLoad } from "../../lib/hooks";
import { actionTitle, eventChange, sourceTitle } from "../team/teamLogic";

/** What makes the history worth reading again: the sample's labels, boxes and review. */
const stampOf = (s: Sample) => JSON.stringify([s.labels, s.objects, s.review]);

/**
 * A "History" button on one sample that opens, in place, the list of its annotation changes:
 * when, who, whether a person, a model suggestion or a review, before → after, the comment.
 */
export function SampleHistory(props: { datasetId: string; sample: Sample }) {
  const [open, setOpen] = useState(false);
  return (
    <div className="sample-history" onClick={(e) => e.stopPropagation()}>
      <button className="link small" aria-expanded={open} onClick={() => setOpen((o) => !o)} data-testid="history-button">
        {open ? "Hide history" : "History"}
      </button>
      {open && <HistoryPanel datasetId={props.datasetId} sampleId={props.sample.id} stamp={stampOf(props.sample)} />}
    </div>
  );
}

function HistoryPanel(props: { datasetId: string; sampleId: string; stamp: string }) {
  const history = useLoad(() => teamApi.history(props.datasetId, props.sampleId), [props.datasetId, props.sampleId, props.stamp]);
  const events = history.data?.results ?? [];
  return (
    <div className="history-panel" data-testid="history-panel">
      <ErrorBox message={history.error} />
      {!history.data && !history.error && <Loading what="history" />}
      {history.data && events.length === 0 && <p className="muted small">No changes recorded for this sample.</p>}
      {events.length > 0 && (
        <ol className="history-list">
          {events.map((e) => {
            const change = eventChange(e);
            return (
              <li key={e.id} data-testid="history-event" data-action={e.action} data-username={e.username} data-source={e.source}>
                <span className="muted">{formatDate(e.created_at)}</span>{" "}
                <b>{e.username || "(unknown)"}</b>{" "}
                <span className={`badge${e.source === "review" ? (e.action === "reject" ? " bad" : " ok") : e.source === "human" ? "" : " run"}`}>{sourceTitle(e.source)}</span>{" "}
                {actionTitle(e.action)}
                {change && <div className="mono history-change" data-testid="history-change">{change}</div>}
                {e.comment && <div className="history-comment" data-testid="history-comment">“{e.comment}”</div>}
              </li>
            );
          })}
        </ol>
      )}
      {history.data && history.data.count > events.length && (
        <p className="muted small">The first {events.length} of {history.data.count} changes.</p>
      )}
    </div>
  );
}

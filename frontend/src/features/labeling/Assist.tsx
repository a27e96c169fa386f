import { useState } from "react";
import { assistApi, type Suggestion } from "../../api/assist";
import { errorText } from "../../api/client";
import type { Project } from "../../api/types";
import { ErrorBox } from "../../components/ui";
import { countAtOrAbove, suggestionText, usableVersions } from "./assistLogic";
import { ModelJobStatus, useModelJob } from "./ModelJob";

/**
 * A pending model suggestion on a sample: dashed, so it never reads as a human label, with
 * Accept / Reject (A / R on the highlighted sample).
 */
export function SuggestionBadge(props: {
  suggestion: Suggestion;
  canWrite: boolean;
  onDecide?: (s: Suggestion, accept: boolean) => void;
  keysHint?: boolean;
}) {
  const s = props.suggestion;
  return (
    <div className="suggestion" data-testid="sample-suggestion" data-confidence={s.confidence} title={`Suggested by ${s.source.version}; not a label until accepted`}
      onClick={(e) => e.stopPropagation()}>
      <span className="suggestion-text">suggested: {suggestionText(s)}</span>
      {props.canWrite && props.onDecide && (
        <>
          <button className="icon tiny ok" aria-label="Accept the suggestion" title="Accept (A)" onClick={() => props.onDecide!(s, true)} data-testid="suggestion-accept">
            ✓{props.keysHint && <kbd>A</kbd>}
          </button>
          <button className="icon tiny" aria-label="Reject the suggestion" title="Reject (R)" onClick={() => props.onDecide!(s, false)} data-testid="suggestion-reject">
            ✗{props.keysHint && <kbd>R</kbd>}
          </button>
        </>
      )}
    </div>
  );
}

/**
 * The labeling view's model assist: pre-label the unlabelled samples with a completed
 * version (a job: progress, ETA, Cancel), then accept every suggestion above a confidence.
 */
export function AssistPanel(props: {
  project: Project;
  datasetId: string;
  pending: Suggestion[];
  canWrite: boolean;
  onChanged: () => Promise<void> | void;
}) {
  const versions = usableVersions(props.project.versions ?? []);
  const [chosen, setChosen] = useState<string>("");
  const version = versions.find((v) => v.name === chosen)?.name ?? versions[0]?.name ?? "";
  const [threshold, setThreshold] = useState(0.9);
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const job = useModelJob(() => void props.onChanged(), () => assistApi.latestJob("prelabel", props.datasetId));
  const willAccept = countAtOrAbove(props.pending, threshold);
  const t = Math.round(threshold * 100) / 100;

  const decideAll = async (accept: boolean) => {
    setBusy(true);
    setError(null);
    setMessage(null);
    try {
      if (accept) {
        const r = await assistApi.accept(props.datasetId, { min_confidence: t });
        setMessage(`Accepted ${r.accepted ?? 0}${r.skipped ? ` (${r.skipped} skipped: labelled meanwhile)` : ""}.`);
      } else {
        const r = await assistApi.reject(props.datasetId, { min_confidence: 0 });
        setMessage(`Rejected ${r.rejected ?? 0}.`);
      }
      await props.onChanged();
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="side-panel assist-panel" data-testid="assist-panel">
      <h3>Model assist</h3>
      {versions.length === 0 ? (
        <p className="muted small" data-testid="assist-no-version">Train a version to get pre-labels and a “label these next” order.</p>
      ) : props.canWrite && (
        <div className="toolbar wrap">
          <select value={version} onChange={(e) => setChosen(e.target.value)} aria-label="Version to pre-label with" data-testid="prelabel-version">
            {versions.map((v) => <option key={v.name} value={v.name}>{v.name}</option>)}
          </select>
          <button className="primary" disabled={!version || job.running} onClick={() => void job.start(() => assistApi.prelabel(props.project.id, version))}
            data-testid="prelabel-start">
            {job.running ? "Pre-labelling…" : `Pre-label with ${version}`}
          </button>
        </div>
      )}
      <ModelJobStatus state={job} what="Pre-labelling" testId="prelabel-job" />
      {props.pending.length > 0 && (
        <div className="assist-accept" data-testid="assist-pending" data-count={props.pending.length}>
          <p className="small">
            <b data-testid="pending-count">{props.pending.length}</b> suggestion{props.pending.length > 1 ? "s" : ""} waiting
            <span className="muted"> — not labelled until accepted</span>
          </p>
          {props.canWrite && (
            <>
              <label className="small threshold">
                Accept all above <b data-testid="accept-threshold-value">{t.toFixed(2)}</b>
                <input type="range" min={0} max={1} step={0.01} value={t} onChange={(e) => setThreshold(Number(e.target.value))}
                  aria-label="Minimum confidence" data-testid="accept-threshold" />
              </label>
              <div className="toolbar wrap">
                <button className="primary" disabled={busy || willAccept === 0} onClick={() => void decideAll(true)} data-testid="accept-above" data-count={willAccept}>
                  Accept {willAccept} ≥ {t.toFixed(2)}
                </button>
                <button className="danger-outline" disabled={busy} onClick={() => void decideAll(false)} data-testid="reject-all">Reject all</button>
              </div>
            </>
          )}
        </div>
      )}
      {message && <p className="small" data-testid="assist-message">{message}</p>}
      <ErrorBox message={error} />
    </section>
  );
}

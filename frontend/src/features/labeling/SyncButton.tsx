import { useEffect, useRef, useState } from "react";
import { errorText } from "../../api/client";
import { datasetsApi } from "../../api/datasets";
import type { Dataset, Job } from "../../api/types";
import { ErrorBox, ProgressBar } from "../../components/ui";
import { useInterval } from "../../lib/hooks";

/** Files the job refused or skipped: the total even when only the first 1,000 are listed. */
export function refusedCount(job: Pick<Job, "counts" | "errors">): number {
  return Math.max(job.counts?.errors_total ?? 0, job.errors?.length ?? 0);
}

export const refusedLabel = (n: number) => `${n.toLocaleString("en-US")} file${n === 1 ? "" : "s"} refused`;

/** "s3://bucket/a/b/photo.gif" -> "a/b/photo.gif"; other texts (a manifest's "uri:line") as they are. */
export function fileName(file: string): string {
  const m = /^s3:\/\/[^/]+\/(.*)$/.exec(file);
  return m ? m[1] : file;
}

const active = (job: Job | null) => !!job && (job.status === "queued" || job.status === "running");
/** A job whose progress has not moved for this long is reported (and no longer polled). */
export const STALL_MS = 10 * 60_000;

/** Synchronize Data Source: starts an import job and follows it until it ends. */
export function SyncButton(props: { dataset: Dataset; disabled?: boolean; onDone: () => void }) {
  const [job, setJob] = useState<Job | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [showErrors, setShowErrors] = useState(false);
  const [stalled, setStalled] = useState(false);
  const lastMove = useRef({ key: "", at: Date.now() });

  // Pick up a sync that is still running from an earlier visit.
  useEffect(() => {
    const last = props.dataset.last_sync_job;
    if (last && typeof last === "object" && active(last)) setJob(last);
    else if (typeof last === "string") datasetsApi.job(last).then((j) => active(j) && setJob(j)).catch(() => undefined);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [props.dataset.id]);

  useInterval(
    async () => {
      if (!job) return;
      try {
        const next = await datasetsApi.job(job.id);
        setJob(next);
        const key = `${next.status}:${next.progress}`;
        if (key !== lastMove.current.key) lastMove.current = { key, at: Date.now() };
        else if (Date.now() - lastMove.current.at > STALL_MS) setStalled(true);
        if (!active(next)) props.onDone();
      } catch (err) {
        setError(errorText(err));
      }
    },
    1000,
    active(job) && !stalled,
  );

  const start = async () => {
    setError(null);
    setShowErrors(false);
    setStalled(false);
    lastMove.current = { key: "", at: Date.now() };
    try {
      setJob(await datasetsApi.sync(props.dataset.id));
    } catch (err) {
      setError(errorText(err));
    }
  };

  const running = active(job);
  const refused = job ? refusedCount(job) : 0;
  return (
    <div className="sync">
      <button onClick={start} disabled={props.disabled || (running && !stalled)} data-testid="sync-button">
        {running && !stalled ? "Synchronizing…" : "Synchronize Data Source"}
      </button>
      {job && (
        <div className="sync-status" data-testid="sync-status" data-status={job.status}>
          <ProgressBar value={job.status === "succeeded" ? 1 : job.progress} testId="sync-progress" label={running ? undefined : job.status} />
          {!running && job.counts && (
            <span className="muted small" data-testid="sync-counts">
              {Object.entries(job.counts).map(([k, v]) => `${k.replace(/_/g, " ")}: ${v}`).join(" · ")}
            </span>
          )}
          {refused > 0 && (
            <button className="link danger" onClick={() => setShowErrors((s) => !s)} data-testid="sync-errors-toggle" aria-expanded={showErrors}>
              {refusedLabel(refused)} — {showErrors ? "hide" : "show"}
            </button>
          )}
        </div>
      )}
      {showErrors && job && (
        <div data-testid="sync-errors">
          <ul className="errors-list">
            {job.errors.map((e, i) => (
              <li key={i} data-skipped={e.skipped ? "true" : undefined}>
                <span className="mono">{fileName(e.file)}</span>: {e.reason}
                {e.skipped && <span className="muted small"> (skipped)</span>}
              </li>
            ))}
          </ul>
          {refused > job.errors.length && (
            <p className="muted small">The first {job.errors.length.toLocaleString()} of {refused.toLocaleString()} are listed.</p>
          )}
        </div>
      )}
      {job?.status === "failed" && <ErrorBox message={`Synchronization failed${job.detail ? `: ${job.detail}` : "."}`} />}
      {stalled && <ErrorBox message="The synchronization has not progressed for 10 minutes: the worker may be down. Try again later or ask an administrator." />}
      <ErrorBox message={error} />
    </div>
  );
}

import { useEffect, useRef, useState } from "react";
import { assistApi } from "../../api/assist";
import { errorText } from "../../api/client";
import { datasetsApi } from "../../api/datasets";
import type { Job } from "../../api/types";
import { ErrorBox, ProgressBar } from "../../components/ui";
import { useInterval } from "../../lib/hooks";
import { jobProgressText, jobRunning } from "./assistLogic";
import { STALL_MS } from "./SyncButton";

/**
 * Follows a model job (pre-label, label check, batch prediction): progress with the counts and
 * ETA, Cancel while it runs, the files it could not handle. Calls onEnded once when it ends.
 */
export function useModelJob(onEnded: (job: Job) => void, resume?: () => Promise<Job | null>) {
  const [job, setJob] = useState<Job | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [stalled, setStalled] = useState(false);
  const lastMove = useRef({ key: "", at: Date.now() });
  useInterval(
    async () => {
      if (!job) return;
      try {
        const next = await datasetsApi.job(job.id);
        setJob(next);
        const key = `${next.status}:${next.progress}`;
        if (key !== lastMove.current.key) lastMove.current = { key, at: Date.now() };
        else if (Date.now() - lastMove.current.at > STALL_MS) setStalled(true);
        if (!jobRunning(next)) onEnded(next);
      } catch (err) {
        setError(errorText(err));
      }
    },
    1000,
    jobRunning(job) && !stalled,
  );
  // Pick up a job still running from an earlier visit (a reload must not lose its progress).
  useEffect(() => {
    if (!resume) return;
    let live = true;
    resume().then((j) => { if (live && j && jobRunning(j)) setJob((cur) => cur ?? j); }).catch(() => undefined);
    return () => { live = false; };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);
  const start = async (begin: () => Promise<Job>) => {
    setError(null);
    setStalled(false);
    lastMove.current = { key: "", at: Date.now() };
    try {
      const j = await begin();
      setJob(j);
      if (!jobRunning(j)) onEnded(j);
    } catch (err) {
      setError(errorText(err));
    }
  };
  const cancel = async () => {
    if (!job) return;
    try {
      setJob(await assistApi.cancel(job.id));
    } catch (err) {
      // 409: it ended meanwhile; the next poll shows how.
      setError(errorText(err));
    }
  };
  return { job, error, stalled, start, cancel, running: jobRunning(job) && !stalled };
}

export function ModelJobStatus(props: {
  state: ReturnType<typeof useModelJob>;
  what: string;
  unit?: string;
  testId: string;
  canCancel?: boolean;
}) {
  const { job, error, stalled, cancel, running } = props.state;
  const [showErrors, setShowErrors] = useState(false);
  if (!job && !error) return null;
  return (
    <div className="model-job" data-testid={props.testId} data-status={job?.status}>
      {job && (
        <div className="model-job-line">
          <ProgressBar value={job.status === "succeeded" ? 1 : job.progress} testId={`${props.testId}-progress`} label={running ? undefined : job.status} />
          {running && props.canCancel !== false && (
            <button className="small danger-outline" disabled={job.cancel_requested} onClick={() => void cancel()} data-testid={`${props.testId}-cancel`}>
              {job.cancel_requested ? "Cancelling…" : "Cancel"}
            </button>
          )}
        </div>
      )}
      {job && <span className="muted small" data-testid={`${props.testId}-counts`}>{jobProgressText(job, props.unit)}</span>}
      {job && job.errors?.length > 0 && (
        <button className="link danger small" onClick={() => setShowErrors((s) => !s)} data-testid={`${props.testId}-errors-toggle`}>
          {job.errors.length} file{job.errors.length > 1 ? "s" : ""} failed
        </button>
      )}
      {showErrors && job && (
        <ul className="errors-list" data-testid={`${props.testId}-errors`}>
          {job.errors.map((e, i) => <li key={i}><span className="mono">{e.file}</span>: {e.reason}</li>)}
        </ul>
      )}
      {job?.status === "failed" && <ErrorBox message={`${props.what} failed${job.detail ? `: ${job.detail}` : "."}`} />}
      {stalled && <ErrorBox message={`The ${props.what.toLowerCase()} has not progressed for 10 minutes: the worker may be down.`} />}
      <ErrorBox message={error} />
    </div>
  );
}

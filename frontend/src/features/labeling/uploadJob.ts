// Following the import job of a larger upload (202): its progress line and its answer.
import type { Job, UploadResult } from "../../api/types";
import { formatDuration } from "../../lib/format";

/** The line shown under the progress bar while a worker imports the upload. */
export function importStatus(job: Job): string {
  if (job.cancel_requested && job.status === "running") return "Cancelling the import…";
  if (job.status === "queued") return "Stored; waiting for a worker to import the files…";
  if (job.status !== "running") return "";
  const written = job.counts?.samples_written ?? 0;
  const eta = job.counts?.eta_seconds;
  const parts = [written ? `Importing: ${written.toLocaleString("en-US")} samples written` : "Importing…"];
  if (typeof eta === "number" && eta > 0) parts.push(`about ${formatDuration(eta)} left`);
  return parts.join(" · ");
}

/**
 * The upload's answer once its job ended: the job's own result ({accepted, rejected}) when it
 * has one (succeeded, or failed because no file was accepted); otherwise (cancelled, or its
 * worker died) none of ``files`` was kept, each refused with the job's reason.
 */
export function importAnswer(job: Job, files: string[]): UploadResult {
  const result = (job.result ?? {}) as Partial<UploadResult>;
  if (Array.isArray(result.accepted)) {
    return { accepted: result.accepted, rejected: Array.isArray(result.rejected) ? result.rejected : job.errors };
  }
  const known = new Set(job.errors.map((e) => e.file));
  const reason = job.status === "cancelled"
    ? "the import was cancelled; the file was not kept"
    : `the import ${job.status}${job.detail ? `: ${job.detail}` : ""}; the file was not kept`;
  return {
    accepted: [],
    rejected: [...job.errors.map(({ file, reason }) => ({ file, reason })),
      ...files.filter((f) => !known.has(f)).map((file) => ({ file, reason }))],
  };
}

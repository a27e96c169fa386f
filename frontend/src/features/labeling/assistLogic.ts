// Pure rules of model-assisted labeling (unit-tested in assistLogic.test.ts).
import type { Suggestion, SuggestionPayload } from "../../api/assist";
import type { Job } from "../../api/types";
import { formatDuration } from "../../lib/format";

/** The labels a suggestion proposes (a detection suggestion: its boxes' labels, once each). */
export function suggestedLabels(payload: SuggestionPayload): string[] {
  if ("objects" in payload) return [...new Set(payload.objects.map((o) => o.label))];
  return payload.labels ?? [];
}

/** "cat 0.92" or "3 boxes: cat, dog 0.81" — what a sample's suggestion badge says. */
export function suggestionText(s: Pick<Suggestion, "payload" | "confidence">): string {
  const conf = s.confidence.toFixed(2);
  if ("objects" in s.payload) {
    const n = s.payload.objects.length;
    if (n === 0) return `no objects ${conf}`;
    return `${n} box${n > 1 ? "es" : ""}: ${suggestedLabels(s.payload).join(", ")} ${conf}`;
  }
  return `${suggestedLabels(s.payload).join(", ") || "nothing"} ${conf}`;
}

/** How many pending suggestions "Accept all above" takes: the API accepts confidence >= threshold. */
export function countAtOrAbove(suggestions: Pick<Suggestion, "confidence" | "status">[], threshold: number): number {
  // The slider works in hundredths; a confidence of 0.899999 shown as 0.90 must count at 0.90.
  const t = Math.round(threshold * 100) / 100;
  return suggestions.filter((s) => s.status === "pending" && s.confidence >= t - 1e-9).length;
}

export function bySample<T extends { sample: { id: string } }>(rows: T[]): Map<string, T> {
  return new Map(rows.map((r) => [r.sample.id, r]));
}

/** Puts fetched samples in the order of ids (label-next order); ids not fetched are left out. */
export function inOrder<T extends { id: string }>(ids: string[], items: T[]): T[] {
  const byId = new Map(items.map((x) => [x.id, x]));
  return ids.flatMap((id) => (byId.has(id) ? [byId.get(id)!] : []));
}

export const jobRunning = (job: Pick<Job, "status"> | null | undefined) => !!job && (job.status === "queued" || job.status === "running");

/** "12 / 40 samples · about 1 min left" from a model job's counts. */
export function jobProgressText(job: Pick<Job, "counts" | "status">, unit = "samples"): string {
  const c = job.counts ?? {};
  const done = c.samples ?? c.files;
  const parts: string[] = [];
  if (done !== undefined && c.total !== undefined) parts.push(`${done} / ${c.total} ${unit}`);
  if (c.suggestions !== undefined) parts.push(`${c.suggestions} suggestion${c.suggestions === 1 ? "" : "s"}`);
  if (c.succeeded !== undefined) parts.push(`${c.succeeded} succeeded`);
  if (c.failed) parts.push(`${c.failed} failed`);
  const eta = c.eta_seconds;
  if (jobRunning(job) && typeof eta === "number" && eta >= 0) parts.push(`about ${formatDuration(eta)} left`);
  return parts.join(" · ");
}

/** The versions a user may pre-label or batch-predict with: completed ones, newest first. */
export function usableVersions<T extends { name: string; status: string }>(versions: T[]): T[] {
  return versions.filter((v) => v.status === "completed").sort((a, b) => b.name.localeCompare(a.name, undefined, { numeric: true }));
}

/** Where a finished batch prediction wrote its results (results.jsonl, or the folder of <name>_predictions.csv). */
export function batchOutput(result: unknown): string | null {
  if (!result || typeof result !== "object") return null;
  const r = result as Record<string, unknown>;
  const uri = r.results ?? r.predictions;
  return typeof uri === "string" ? uri : null;
}

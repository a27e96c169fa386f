// Reading one batch-prediction result (serving/model_jobs.py writes the service's answer per file).
import type { BatchResultEntry } from "../../api/assist";

export interface ResultSummary {
  file: string;
  prediction: string;
  score: string;
}

const fileName = (uri: string | undefined) => (uri ? uri.slice(uri.lastIndexOf("/") + 1) : "—");

/** A file's (or text line's) answer in one line: the label and its score, or the boxes found. */
export function summarizeResult(entry: BatchResultEntry): ResultSummary {
  const file = entry.line !== undefined ? `${fileName(entry.file)} line ${entry.line}` : fileName(entry.file);
  const r = entry.result ?? {};
  if (entry.raw !== undefined) return { file: "—", prediction: entry.raw.slice(0, 120), score: "" };
  if (Array.isArray(r.detection_classes)) {
    const classes = r.detection_classes as string[];
    const counts = new Map<string, number>();
    for (const c of classes) counts.set(c, (counts.get(c) ?? 0) + 1);
    const scores = (r.detection_scores as (number | string)[] | undefined)?.map(Number) ?? [];
    return {
      file,
      prediction: classes.length ? [...counts].map(([c, n]) => `${n} × ${c}`).join(", ") : "no objects",
      score: scores.length ? `max ${Math.max(...scores).toFixed(3)}` : "",
    };
  }
  const label = typeof r.predicted_label === "string" ? r.predicted_label : Array.isArray(r.predicted_label) ? r.predicted_label.join(", ") : "—";
  let score = "";
  if (typeof r.score === "number") score = r.score.toFixed(3);
  else if (Array.isArray(r.scores) && Array.isArray(r.scores[0])) score = Number(r.scores[0][1]).toFixed(3);
  return { file, prediction: label, score };
}

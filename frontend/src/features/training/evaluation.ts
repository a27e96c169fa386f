// Reading a version's stored evaluation (training/evaluation.py) at any threshold.
import type { CalibrationEvaluation, ConfidencePoint, ConfidenceView, EvalPrediction, Evaluation, ReliabilityBin, ThresholdPoint } from "../../api/types";

export interface BinaryAt {
  threshold: number;
  precision: number;
  recall: number;
  f1: number;
  tp: number;
  fp: number;
  fn: number;
  tn: number;
}

/** The stored curve's point nearest to t (the curve has one point per 0.01). */
export function nearestPoint(curve: ThresholdPoint[], t: number): ThresholdPoint | null {
  let best: ThresholdPoint | null = null;
  for (const p of curve) if (!best || Math.abs(p.threshold - t) < Math.abs(best.threshold - t)) best = p;
  return best;
}

/**
 * Precision, recall, F1 and the four counts at threshold t, from the stored curve: the
 * class sizes (P = TP+FN, N = FP+TN) do not depend on the threshold, and the curve's
 * recall (TPR) and FPR at t give TP = recall·P and FP = FPR·N.
 */
export function binaryAt(ev: Evaluation, t: number): BinaryAt | null {
  const curve = ev.threshold_curve;
  if (!curve?.length || ev.tp === undefined || ev.fn === undefined || ev.fp === undefined || ev.tn === undefined) return null;
  const p = nearestPoint(curve, t)!;
  const positives = ev.tp + ev.fn;
  const negatives = ev.fp + ev.tn;
  const tp = Math.round(p.recall * positives);
  const fp = Math.round(p.fpr * negatives);
  return { threshold: p.threshold, precision: p.precision, recall: p.recall, f1: p.f1, tp, fn: positives - tp, fp, tn: negatives - fp };
}

/** The threshold with the best F1 on the curve (ties: the one nearest 0.5). */
export function bestF1Threshold(curve: ThresholdPoint[]): number | null {
  let best: ThresholdPoint | null = null;
  for (const p of curve) {
    if (!best || p.f1 > best.f1 + 1e-12 || (Math.abs(p.f1 - best.f1) <= 1e-12 && Math.abs(p.threshold - 0.5) < Math.abs(best.threshold - 0.5))) best = p;
  }
  return best ? best.threshold : null;
}

const first = (v: string | string[] | number | undefined) => (Array.isArray(v) ? v[0] : v === undefined ? undefined : String(v));

/** The eval samples one confusion-matrix cell counts. */
export function cellPredictions(predictions: EvalPrediction[], real: string, predicted: string): EvalPrediction[] {
  return predictions.filter((p) => first(p.true) === real && first(p.predicted) === predicted);
}

/** Metrics of two versions side by side, keys in a stable order (shared first). */
export function compareRows(a: Record<string, number>, b: Record<string, number>): { key: string; a?: number; b?: number }[] {
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((k) => k !== "train_seconds");
  keys.sort((x, y) => Number(!(x in a && x in b)) - Number(!(y in a && y in b)) || x.localeCompare(y));
  return keys.map((key) => ({ key, a: a[key], b: b[key] }));
}

/** The stored confidence point nearest to t (one per 0.01). */
export function confidenceAt(view: ConfidenceView, t: number): ConfidencePoint | null {
  let best: ConfidencePoint | null = null;
  for (const p of view.points) if (!best || Math.abs(p.threshold - t) < Math.abs(best.threshold - t)) best = p;
  return best;
}

/** A "nice" tick step (1, 2 or 5 × 10^k) giving about `count` ticks over [lo, hi]. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return [];
  if (hi - lo < 1e-12) return [lo];
  const raw = (hi - lo) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const ticks: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) ticks.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  return ticks;
}

/** One range for both axes of the residual plot (so y = x is the diagonal), padded 5 %. */
export function residualRange(points: [number, number][]): [number, number] {
  let lo = Infinity, hi = -Infinity;
  for (const [a, p] of points) {
    lo = Math.min(lo, a, p);
    hi = Math.max(hi, a, p);
  }
  if (!Number.isFinite(lo)) return [0, 1];
  if (hi - lo < 1e-12) return [lo - 1, hi + 1];
  const pad = (hi - lo) * 0.05;
  return [lo - pad, hi + pad];
}

/** A reliability diagram's points: the non-empty bins, (mean confidence, accuracy, rows). */
export function reliabilityPoints(bins: ReliabilityBin[]): { confidence: number; accuracy: number; count: number }[] {
  return bins
    .filter((b) => b.count > 0 && b.confidence !== null && b.accuracy !== null)
    .map((b) => ({ confidence: b.confidence as number, accuracy: b.accuracy as number, count: b.count }));
}

/** How the calibration changed the scores, in words: ECE before → after and which way it moved them. */
export function calibrationSummary(c: CalibrationEvaluation): string {
  const ece = `ECE ${c.before.ece.toFixed(3)} → ${c.after.ece.toFixed(3)}`;
  // "temperature+isotonic": after the temperature, the top score goes through a monotone map
  // fitted on out-of-fold rows (where one temperature could not fit the confidence curve).
  const isotonic = c.method.includes("isotonic") ? ", then mapped to the accuracy seen at that score out of fold" : "";
  if (c.method === "none" || (c.temperature === 1 && !isotonic)) return `${ece} (scores not rescaled)`;
  if (c.temperature === 1) return `${ece}; top score${isotonic}`;
  const way = c.temperature > 1 ? "softened (the model was over-confident)" : "sharpened (the model was under-confident)";
  return `${ece}; scores ${way}, temperature ${c.temperature.toPrecision(3)}${isotonic}`;
}

import { describe, expect, it } from "vitest";
import type { CalibrationEvaluation, Evaluation, ReliabilityBin } from "../../api/types";
import { summarizeResult } from "./batchResults";
import { formatTick } from "./EvaluationCharts";
import { bestF1Threshold, binaryAt, calibrationSummary, cellPredictions, compareRows, confidenceAt, niceTicks, reliabilityPoints, residualRange } from "./evaluation";

// 4 positives, 6 negatives; scores make the curve by hand.
const ev: Evaluation = {
  positive_label: "yes", threshold: 0.5, tp: 3, fn: 1, fp: 2, tn: 4,
  threshold_curve: [
    { threshold: 0.3, precision: 4 / 8, recall: 1, f1: 2 / 3, tpr: 1, fpr: 4 / 6 },
    { threshold: 0.5, precision: 3 / 5, recall: 0.75, f1: 2 / 3, tpr: 0.75, fpr: 2 / 6 },
    { threshold: 0.8, precision: 1, recall: 0.5, f1: 2 / 3, tpr: 0.5, fpr: 0 },
  ],
};

describe("binary evaluation at a threshold", () => {
  it("reproduces the stored counts at the stored threshold", () => {
    expect(binaryAt(ev, 0.5)).toMatchObject({ tp: 3, fn: 1, fp: 2, tn: 4 });
  });
  it("recomputes the counts elsewhere on the curve", () => {
    expect(binaryAt(ev, 0.8)).toMatchObject({ threshold: 0.8, tp: 2, fn: 2, fp: 0, tn: 6, precision: 1 });
    expect(binaryAt(ev, 0.31)).toMatchObject({ threshold: 0.3, tp: 4, fn: 0, fp: 4, tn: 2 });
  });
  it("needs the stored counts", () => {
    expect(binaryAt({ threshold_curve: ev.threshold_curve }, 0.5)).toBeNull();
  });
  it("picks the best F1, nearest 0.5 on ties", () => {
    expect(bestF1Threshold(ev.threshold_curve!)).toBe(0.5);
  });
});

describe("confusion cells and comparison", () => {
  it("finds the samples of a cell", () => {
    const preds = [
      { sample_id: "a", true: "cat", predicted: "dog" },
      { sample_id: "b", true: ["cat"], predicted: ["cat"] },
      { sample_id: "c", true: "cat", predicted: "dog" },
    ];
    expect(cellPredictions(preds, "cat", "dog").map((p) => p.sample_id)).toEqual(["a", "c"]);
  });
  it("lines metrics up, shared first, without durations", () => {
    expect(compareRows({ accuracy: 0.9, f1: 0.8, train_seconds: 3 }, { accuracy: 0.95, roc_auc: 0.9 }).map((r) => r.key))
      .toEqual(["accuracy", "f1", "roc_auc"]);
  });
});

describe("confidence view and residual axes", () => {
  const view = {
    unit: "boxes" as const, predictions: 4, total: 3,
    points: [0, 0.25, 0.5, 0.75, 1].map((threshold, i) => ({ threshold, kept: 4 - i, correct: Math.max(0, 2 - i), precision: 0.5, recall: 0.5 })),
  };
  it("reads the stored point nearest the slider", () => {
    expect(confidenceAt(view, 0.3)).toMatchObject({ threshold: 0.25, kept: 3 });
    expect(confidenceAt(view, 0.9)).toMatchObject({ threshold: 1, kept: 0 });
  });
  it("puts ticks on round values of any scale", () => {
    expect(niceTicks(0, 1, 5)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1].map((v) => expect.closeTo(v, 9)));
    expect(niceTicks(41_000, 79_000, 4)).toEqual([50_000, 60_000, 70_000].map((v) => expect.closeTo(v, 6)));
    expect(niceTicks(3, 3)).toEqual([3]);
  });
  it("draws both residual axes on one padded range so y = x is the diagonal", () => {
    const [lo, hi] = residualRange([[100, 120], [200, 180]]);
    expect(lo).toBeCloseTo(95);
    expect(hi).toBeCloseTo(205);
    expect(residualRange([])).toEqual([0, 1]);
  });
});

describe("batch prediction results", () => {
  it("summarizes each kind of answer in one line", () => {
    expect(summarizeResult({ file: "s3://b/t/in/a.png", result: { predicted_label: "red", scores: [["red", "0.912"], ["blue", "0.05"]] } }))
      .toEqual({ file: "a.png", prediction: "red", score: "0.912" });
    expect(summarizeResult({ file: "s3://b/t/in/notes.txt", line: 3, text: "hi", result: { predicted_label: "pos", score: 0.75 } }))
      .toEqual({ file: "notes.txt line 3", prediction: "pos", score: "0.750" });
    expect(summarizeResult({ file: "s3://b/x.jpg", result: { detection_classes: ["cat", "dog", "cat"], detection_scores: ["0.9", "0.4", "0.3"], detection_boxes: [] } }))
      .toEqual({ file: "x.jpg", prediction: "2 × cat, 1 × dog", score: "max 0.900" });
    expect(summarizeResult({ file: "s3://b/y.jpg", result: { detection_classes: [], detection_scores: [], detection_boxes: [] } }).prediction).toBe("no objects");
  });
});

describe("chart ticks", () => {
  it("writes round ticks plainly and large ones in k/M", () => {
    expect([0, -2000, 6, 0.5, 60_000, 1_200_000].map(formatTick)).toEqual(["0", "-2000", "6", "0.500", "60.0k", "1.20M"]);
  });
});

describe("calibration", () => {
  const side = (ece: number, bins: ReliabilityBin[]) => ({ ece, accuracy: 0.7, mean_confidence: 0.7, reliability: bins });
  const bins: ReliabilityBin[] = [
    { lo: 0, hi: 0.5, count: 0, confidence: null, accuracy: null },
    { lo: 0.5, hi: 1, count: 10, confidence: 0.97, accuracy: 0.7 },
  ];
  const c: CalibrationEvaluation = {
    method: "temperature", temperature: 2.345, bins: 2, support: 10, fitted_on: { rows: 50, ece_before: 0.3, ece_after: 0.02 },
    before: side(0.27, bins), after: side(0.021, bins),
  };
  it("plots only the bins that hold samples", () => {
    expect(reliabilityPoints(bins)).toEqual([{ confidence: 0.97, accuracy: 0.7, count: 10 }]);
  });
  it("says which way the scores moved", () => {
    expect(calibrationSummary(c)).toBe("ECE 0.270 → 0.021; scores softened (the model was over-confident), temperature 2.35");
    expect(calibrationSummary({ ...c, temperature: 0.5 })).toContain("sharpened");
    expect(calibrationSummary({ ...c, method: "none", temperature: 1 })).toContain("not rescaled");
    const iso = { ...c, method: "temperature+isotonic" };
    expect(calibrationSummary(iso)).toBe(
      "ECE 0.270 → 0.021; scores softened (the model was over-confident), temperature 2.35, then mapped to the accuracy seen at that score out of fold",
    );
    expect(calibrationSummary({ ...iso, temperature: 1 })).not.toContain("not rescaled");
  });
});

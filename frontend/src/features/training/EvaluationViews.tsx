import { useState } from "react";
import { datasetsApi } from "../../api/datasets";
import { trainingApi } from "../../api/training";
import type { CalibrationEvaluation, ConfidenceView, Evaluation, ModelVersion, Project, Sample } from "../../api/types";
import { ErrorBox, Loading, Modal } from "../../components/ui";
import { formatNumber } from "../../lib/format";
import { useLoad } from "../../lib/hooks";
import { ImageWithBoxes } from "../labeling/SampleGrid";
import { ReliabilityChart, ThresholdChart } from "./charts";
import { ConfidenceChart } from "./EvaluationCharts";
import { bestF1Threshold, binaryAt, calibrationSummary, cellPredictions, compareRows, confidenceAt } from "./evaluation";

/**
 * Two classes: which one is positive, and a threshold slider that recomputes precision,
 * recall, F1 and TP/FP/FN/TN from the stored curve (no new evaluation run).
 */
export function BinaryEvaluation({ ev, name }: { ev: Evaluation; name: string }) {
  const stored = ev.threshold ?? 0.5;
  const [t, setT] = useState(stored);
  const at = binaryAt(ev, t);
  const negative = ev.labels?.find((l) => l !== ev.positive_label);
  const best = ev.threshold_curve ? bestF1Threshold(ev.threshold_curve) : null;
  return (
    <section className="panel" data-testid="binary-evaluation">
      <h3>Binary evaluation</h3>
      {ev.positive_label && (
        <p data-testid="positive-class">
          Positive class: <b>{ev.positive_label}</b>{negative && <> (negative: {negative})</>}. The model scores how likely a sample is{" "}
          <b>{ev.positive_label}</b>; at or above the threshold it predicts {ev.positive_label}.
        </p>
      )}
      <div className="threshold-row">
        <label htmlFor="threshold-slider">Threshold <b data-testid="threshold-value">{(at?.threshold ?? t).toFixed(2)}</b></label>
        <input id="threshold-slider" type="range" min={0} max={1} step={0.01} value={t} onChange={(e) => setT(Number(e.target.value))} data-testid="threshold-slider" />
        <button className="link small" onClick={() => setT(stored)} disabled={t === stored}>Reset to {stored}</button>
        {best !== null && <button className="link small" onClick={() => setT(best)} data-testid="threshold-best">Best F1 ({best.toFixed(2)})</button>}
      </div>
      {at && (
        <div className="binary-grid">
          <table className="table compact narrow-table" data-testid="binary-counts">
            <tbody>
              <tr><th /><th>Predicted {ev.positive_label ?? "positive"}</th><th>Predicted {negative ?? "negative"}</th></tr>
              <tr><th>Real {ev.positive_label ?? "positive"}</th><td>TP <b data-testid="binary-tp">{at.tp}</b></td><td>FN <b data-testid="binary-fn">{at.fn}</b></td></tr>
              <tr><th>Real {negative ?? "negative"}</th><td>FP <b data-testid="binary-fp">{at.fp}</b></td><td>TN <b data-testid="binary-tn">{at.tn}</b></td></tr>
            </tbody>
          </table>
          <div className="metric-cards">
            <div className="metric"><span className="muted small">Precision</span><b data-testid="binary-precision">{formatNumber(at.precision)}</b></div>
            <div className="metric"><span className="muted small">Recall</span><b data-testid="binary-recall">{formatNumber(at.recall)}</b></div>
            <div className="metric"><span className="muted small">F1</span><b data-testid="binary-f1">{formatNumber(at.f1)}</b></div>
          </div>
        </div>
      )}
      <p className="muted small">
        The deployed service answers with the scores; choosing where to cut them is up to the caller. The figures here are
        for the evaluation split at the chosen threshold.
      </p>
      <ThresholdChart points={ev.threshold_curve!} name={name} threshold={at?.threshold ?? t} />
    </section>
  );
}

const UNIT_TEXT: Record<ConfidenceView["unit"], { what: string; right: string; found: string }> = {
  samples: { what: "predictions", right: "predicted the right label", found: "evaluation samples" },
  labels: { what: "(image, label) scores", right: "name a label the image has", found: "labels the images have" },
  boxes: { what: "boxes", right: "match a true box (IoU ≥ 0.5, same label)", found: "true boxes" },
};

/**
 * Image classification and detection: move a confidence threshold and see how many of the
 * evaluation's predictions a caller keeps at that score, and their precision and recall,
 * from the stored curve (no new evaluation run). Same shape as the binary view.
 */
export function ConfidenceThreshold({ view, name, initial = 0.5 }: { view: ConfidenceView; name: string; initial?: number }) {
  const [t, setT] = useState(initial);
  const at = confidenceAt(view, t);
  const text = UNIT_TEXT[view.unit] ?? UNIT_TEXT.samples;
  const best = view.points.reduce<{ t: number; f1: number } | null>((acc, p) => {
    const f1 = p.precision + p.recall ? (2 * p.precision * p.recall) / (p.precision + p.recall) : 0;
    return !acc || f1 > acc.f1 + 1e-12 ? { t: p.threshold, f1 } : acc;
  }, null);
  return (
    <section className="panel" data-testid="confidence-view">
      <h3>Confidence threshold</h3>
      <p className="muted small">
        Keep only the {text.what} scoring at least the threshold. Precision: the share of the kept {text.what} that {text.right}.
        Recall: the share of the {view.total} {text.found} they find.
      </p>
      <div className="threshold-row">
        <label htmlFor="confidence-slider">Threshold <b data-testid="confidence-value">{(at?.threshold ?? t).toFixed(2)}</b></label>
        <input id="confidence-slider" type="range" min={0} max={1} step={0.01} value={t} onChange={(e) => setT(Number(e.target.value))} data-testid="confidence-slider" />
        <button className="link small" onClick={() => setT(initial)} disabled={t === initial}>Reset to {initial}</button>
        {best && <button className="link small" onClick={() => setT(best.t)} data-testid="confidence-best">Best F1 ({best.t.toFixed(2)})</button>}
      </div>
      {at && (
        <div className="metric-cards">
          <div className="metric"><span className="muted small">Kept</span><b data-testid="confidence-kept">{at.kept} of {view.predictions}</b></div>
          <div className="metric"><span className="muted small">Right among kept</span><b data-testid="confidence-correct">{at.correct}</b></div>
          <div className="metric"><span className="muted small">Precision</span><b data-testid="confidence-precision">{at.kept ? formatNumber(at.precision) : "—"}</b></div>
          <div className="metric"><span className="muted small">Recall</span><b data-testid="confidence-recall">{formatNumber(at.recall)}</b></div>
        </div>
      )}
      <ConfidenceChart points={view.points} predictions={view.predictions} threshold={at?.threshold ?? t} name={name} />
    </section>
  );
}

/**
 * Whether the scores can be read as probabilities: expected calibration error (the mean gap
 * between confidence and accuracy over confidence bins) on the evaluation split before and
 * after the calibration fitted during the search, and the reliability diagram.
 */
export function CalibrationView({ calibration: c, name }: { calibration: CalibrationEvaluation; name: string }) {
  return (
    <section className="panel" data-testid="calibration">
      <h3>Confidence calibration</h3>
      <div className="metric-cards">
        <div className="metric"><span className="muted small">ECE before</span><b data-testid="ece-before">{formatNumber(c.before.ece)}</b></div>
        <div className="metric"><span className="muted small">ECE after (served)</span><b data-testid="ece-after">{formatNumber(c.after.ece)}</b></div>
        {c.after.ece_noise_floor !== undefined && (
          <div className="metric" title="The ECE a perfectly calibrated model shows on this many samples: sampling noise alone">
            <span className="muted small">ECE noise floor</span><b data-testid="ece-floor">{formatNumber(c.after.ece_noise_floor)}</b>
          </div>
        )}
        <div className="metric"><span className="muted small">Mean confidence</span><b>{formatNumber(c.after.mean_confidence)}</b></div>
        <div className="metric"><span className="muted small">Accuracy</span><b>{formatNumber(c.after.accuracy)}</b></div>
      </div>
      <p className="muted small" data-testid="calibration-summary">
        {calibrationSummary(c)}. Fitted on the search&apos;s out-of-fold predictions{c.fitted_on ? ` (${c.fitted_on.rows} rows)` : ""};
        the ranking of the labels, and so the accuracy, does not change. A calibrated score of 0.8 is right about 8 times in 10:
        thresholds on the service and the pre-label slider mean what they say. {c.support} evaluation samples, {c.bins} bins.
      </p>
      <ReliabilityChart before={c.before.reliability} after={c.after.reliability} name={name} />
    </section>
  );
}

/** The evaluation samples one confusion-matrix cell counts: real X predicted as Y. */
export function CellSamples(props: { project: Project; version: ModelVersion; real: string; predicted: string; onClose: () => void }) {
  const { project, version } = props;
  const datasetId = project.dataset?.id;
  const data = useLoad(async () => {
    const full = await trainingApi.version(project.id, version.id, { evalPredictions: true });
    const preds = cellPredictions(full.eval_predictions ?? [], props.real, props.predicted);
    const samples: (Sample | { id: string; missing: true })[] = [];
    for (const p of preds.slice(0, 24)) {
      // Tabular predictions name CSV rows ("row-12"), not samples.
      if (!datasetId || p.sample_id.startsWith("row-")) samples.push({ id: p.sample_id, missing: true });
      else samples.push(await datasetsApi.sample(datasetId, p.sample_id).catch(() => ({ id: p.sample_id, missing: true as const })));
    }
    return { total: preds.length, samples };
  }, [version.id, props.real, props.predicted]);
  const correct = props.real === props.predicted;
  return (
    <Modal title={`Real ${props.real} · predicted ${props.predicted}`} onClose={props.onClose} wide testId="cell-samples">
      <ErrorBox message={data.error} />
      {!data.data && !data.error && <Loading what="samples" />}
      {data.data && (
        <>
          <p className="muted small">
            {data.data.total} evaluation sample{data.data.total === 1 ? "" : "s"} {correct ? "predicted right" : "the model got wrong"}
            {data.data.total > data.data.samples.length ? `; the first ${data.data.samples.length} shown` : ""}.
            {data.data.total === 0 && " (This version stored no per-sample predictions.)"}
          </p>
          <div className="sample-grid" data-testid="cell-sample-list">
            {data.data.samples.map((s) => (
              <div key={s.id} className="sample-card" data-testid="cell-sample">
                {"missing" in s ? (
                  <span className="mono small">{s.id}</span>
                ) : project.type === "image_classification" || project.type === "object_detection" ? (
                  <>
                    <div className="thumb"><ImageWithBoxes sample={s} labels={[]} /></div>
                    <span className="ellipsis small" title={s.name}>{s.name}</span>
                  </>
                ) : project.type === "text_classification" ? (
                  <span className="small">{s.text}</span>
                ) : (
                  <>
                    <span className="mono small">{s.name}</span>
                    <audio controls preload="none" src={s.content_url} />
                  </>
                )}
              </div>
            ))}
          </div>
        </>
      )}
    </Modal>
  );
}

/** This version's metrics beside another completed version's. */
export function CompareVersions({ project, version, versions }: { project: Project; version: ModelVersion; versions: ModelVersion[] }) {
  const others = versions.filter((x) => x.status === "completed" && x.id !== version.id);
  const [otherId, setOtherId] = useState("");
  const other = useLoad(
    () => (otherId ? trainingApi.version(project.id, otherId) : Promise.resolve(undefined)),
    [project.id, otherId],
  );
  const o = other.data;
  const rows = o ? compareRows(version.metrics ?? {}, o.metrics ?? {}) : [];
  return (
    <section className="panel" data-testid="compare-versions">
      <div className="toolbar wrap">
        <h3>Compare with</h3>
        <select value={otherId} onChange={(e) => setOtherId(e.target.value)} data-testid="compare-select">
          <option value="">— choose a version —</option>
          {others.map((x) => <option key={x.id} value={x.id}>{x.name}</option>)}
        </select>
      </div>
      <ErrorBox message={other.error} />
      {o && (
        <div className="table-scroll">
          <table className="table compact" data-testid="compare-table">
            <thead><tr><th>Metric</th><th>{version.name}</th><th>{o.name}</th><th>Difference</th></tr></thead>
            <tbody>
              {rows.map((r) => (
                <tr key={r.key}>
                  <td>{r.key}</td><td>{formatNumber(r.a)}</td><td>{formatNumber(r.b)}</td>
                  <td className={r.a !== undefined && r.b !== undefined ? (r.a > r.b ? "ok" : r.a < r.b ? "bad" : "") : ""}>
                    {r.a !== undefined && r.b !== undefined ? `${r.a - r.b >= 0 ? "+" : ""}${formatNumber(r.a - r.b)}` : "—"}
                  </td>
                </tr>
              ))}
              <tr><td>Parameters</td><td className="small">{paramSummary(version)}</td><td className="small">{paramSummary(o)}</td><td /></tr>
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function paramSummary(v: ModelVersion): string {
  const p = v.params ?? {};
  return [p.preference, p.max_minutes !== undefined ? `${p.max_minutes} min` : null, v.flavor].filter(Boolean).map(String).join(" · ").replace(/_/g, " ");
}

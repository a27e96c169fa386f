// Regression's residual plot and error histogram, and the confidence curve of the
// confidence-threshold view: small SVGs whose axes fit any scale (k/M ticks, no clipping).
import { useRef } from "react";
import type { ConfidencePoint, ResidualView } from "../../api/types";
import { saveSvgAsPng, saveText, toCsv } from "../../lib/download";
import { formatAxis } from "../../lib/format";
import { niceTicks, residualRange } from "./evaluation";

/** Round ticks read as written ("0", "-2000", "6"); anything else as formatAxis (k/M, 6 characters). */
export const formatTick = (v: number) => (Number.isInteger(v) && Math.abs(v) < 1e4 ? String(v) : formatAxis(v));

// Room on the left for a 6-character tick ("-1.20M") at font size 11, plus the axis title.
const W = 520, H = 320, L = 64, R = 14, T = 12, B = 44;

function Downloads({ svg, name, csv }: { svg: React.RefObject<SVGSVGElement | null>; name: string; csv: () => string }) {
  return (
    <>
      <button onClick={() => svg.current && void saveSvgAsPng(svg.current, `${name}.png`)}>PNG</button>
      <button onClick={() => saveText(csv(), `${name}.csv`)}>CSV</button>
    </>
  );
}

/** Predicted against actual, one dot per (sampled) eval row; on the y = x line a prediction is exact. */
export function ResidualPlot({ view, name }: { view: ResidualView; name: string }) {
  const svgRef = useRef<SVGSVGElement>(null);
  const [lo, hi] = residualRange(view.points);
  const x = (v: number) => L + ((v - lo) / (hi - lo)) * (W - L - R);
  const y = (v: number) => T + (1 - (v - lo) / (hi - lo)) * (H - T - B);
  const ticks = niceTicks(lo, hi, 5);
  return (
    <div className="chart" data-testid="residual-plot">
      <div className="toolbar wrap">
        <b>Predicted vs actual</b>
        <span className="legend"><span><i style={{ background: "#2563eb" }} />eval rows</span><span><i style={{ background: "#dc2626" }} />y = x (exact)</span></span>
        <span className="spacer" />
        <Downloads svg={svgRef} name={`${name}-residuals`} csv={() => toCsv(["actual", "predicted", "residual"], view.points.map(([a, p]) => [a, p, p - a]))} />
      </div>
      <svg ref={svgRef} viewBox={`0 0 ${W} ${H}`} className="chart-svg" role="img" aria-label="Predicted against actual values">
        <rect x={0} y={0} width={W} height={H} fill="#fff" />
        {ticks.map((v) => (
          <g key={v}>
            <line x1={L} x2={W - R} y1={y(v)} y2={y(v)} stroke="#eef0f3" />
            <line x1={x(v)} x2={x(v)} y1={T} y2={H - B} stroke="#eef0f3" />
            <text x={L - 6} y={y(v) + 4} textAnchor="end" fontSize={11} fill="#666" data-testid="residual-y-tick">{formatTick(v)}</text>
            <text x={x(v)} y={H - B + 16} textAnchor="middle" fontSize={11} fill="#666">{formatTick(v)}</text>
          </g>
        ))}
        <text x={(L + W - R) / 2} y={H - 8} textAnchor="middle" fontSize={12} fill="#333">Actual</text>
        <text x={14} y={(T + H - B) / 2} textAnchor="middle" fontSize={12} fill="#333" transform={`rotate(-90 14 ${(T + H - B) / 2})`}>Predicted</text>
        <g data-testid="residual-points" data-count={view.points.length}>
          {view.points.map(([a, p], i) => <circle key={i} cx={x(a).toFixed(1)} cy={y(p).toFixed(1)} r={2.2} fill="#2563eb" fillOpacity={0.45} />)}
        </g>
        <line x1={x(lo)} y1={y(lo)} x2={x(hi)} y2={y(hi)} stroke="#dc2626" strokeWidth={1.5} data-testid="residual-diagonal" />
      </svg>
      <div className="muted small chart-readout">
        {view.sampled ? `${view.points.length.toLocaleString()} of ${view.total.toLocaleString()} evaluation rows shown (evenly spaced).` : `All ${view.total.toLocaleString()} evaluation rows.`}{" "}
        Above the red line the model predicts too high, below it too low.
      </div>
    </div>
  );
}

/** How far off the predictions are: residuals (predicted − actual) of every eval row in equal bins. */
export function ErrorHistogram({ view, name }: { view: ResidualView; name: string }) {
  const svgRef = useRef<SVGSVGElement>(null);
  const { edges, counts } = view.histogram;
  if (!counts.length) return null;
  const lo = edges[0], hi = edges[edges.length - 1];
  const span = hi - lo || 1;
  const top = Math.max(...counts, 1);
  const x = (v: number) => L + ((v - lo) / span) * (W - L - R);
  const y = (c: number) => T + (1 - c / top) * (H - T - B);
  const yTicks = niceTicks(0, top, 4).filter((v) => Number.isInteger(v));
  return (
    <div className="chart" data-testid="error-histogram">
      <div className="toolbar wrap">
        <b>Error distribution</b>
        <span className="spacer" />
        <Downloads svg={svgRef} name={`${name}-errors`} csv={() => toCsv(["from", "to", "rows"], counts.map((c, i) => [edges[i], edges[i + 1], c]))} />
      </div>
      <svg ref={svgRef} viewBox={`0 0 ${W} ${H}`} className="chart-svg" role="img" aria-label="Histogram of prediction errors">
        <rect x={0} y={0} width={W} height={H} fill="#fff" />
        {yTicks.map((v) => (
          <g key={v}>
            <line x1={L} x2={W - R} y1={y(v)} y2={y(v)} stroke="#eef0f3" />
            <text x={L - 6} y={y(v) + 4} textAnchor="end" fontSize={11} fill="#666">{formatTick(v)}</text>
          </g>
        ))}
        {niceTicks(lo, hi, 5).map((v) => (
          <text key={v} x={x(v)} y={H - B + 16} textAnchor="middle" fontSize={11} fill="#666">{formatTick(v)}</text>
        ))}
        {counts.map((c, i) => (
          <rect key={i} x={x(edges[i]) + 0.5} width={Math.max(0.5, x(edges[i + 1]) - x(edges[i]) - 1)} y={y(c)} height={H - B - y(c)} fill="#6366f1" data-testid="error-bin">
            <title>{`${formatAxis(edges[i])} to ${formatAxis(edges[i + 1])}: ${c} rows`}</title>
          </rect>
        ))}
        {lo <= 0 && hi >= 0 && <line x1={x(0)} x2={x(0)} y1={T} y2={H - B} stroke="#dc2626" strokeDasharray="4 3" />}
        <text x={(L + W - R) / 2} y={H - 8} textAnchor="middle" fontSize={12} fill="#333">Residual (predicted − actual)</text>
        <text x={14} y={(T + H - B) / 2} textAnchor="middle" fontSize={12} fill="#333" transform={`rotate(-90 14 ${(T + H - B) / 2})`}>Rows</text>
      </svg>
      <div className="muted small chart-readout">All {view.total.toLocaleString()} evaluation rows; the dashed line is no error.</div>
    </div>
  );
}

const CONF_SERIES: { key: "precision" | "recall" | "share"; color: string; name: string }[] = [
  { key: "precision", color: "#1f77b4", name: "Precision" },
  { key: "recall", color: "#d62728", name: "Recall" },
  { key: "share", color: "#7c7c7c", name: "Share kept" },
];

/** Precision, recall and the share of predictions kept against the confidence threshold. */
export function ConfidenceChart({ points, predictions, threshold, name }: { points: ConfidencePoint[]; predictions: number; threshold: number; name: string }) {
  const svgRef = useRef<SVGSVGElement>(null);
  const h = 240, b = 36, l = 44;
  const x = (t: number) => l + t * (W - l - R);
  const y = (v: number) => T + (1 - v) * (h - T - b);
  const value = (p: ConfidencePoint, key: "precision" | "recall" | "share") => (key === "share" ? (predictions ? p.kept / predictions : 0) : p[key]);
  const path = (key: "precision" | "recall" | "share") => points.map((p, i) => `${i ? "L" : "M"}${x(p.threshold).toFixed(1)},${y(value(p, key)).toFixed(1)}`).join(" ");
  return (
    <div className="chart" data-testid="confidence-chart">
      <div className="toolbar wrap">
        <span className="legend">{CONF_SERIES.map((s) => <span key={s.key}><i style={{ background: s.color }} />{s.name}</span>)}</span>
        <span className="spacer" />
        <Downloads svg={svgRef} name={`${name}-confidence`} csv={() => toCsv(["threshold", "kept", "correct", "precision", "recall"], points.map((p) => [p.threshold, p.kept, p.correct, p.precision, p.recall]))} />
      </div>
      <svg ref={svgRef} viewBox={`0 0 ${W} ${h}`} className="chart-svg" role="img" aria-label="Precision and recall against the confidence threshold">
        <rect x={0} y={0} width={W} height={h} fill="#fff" />
        {[0, 0.25, 0.5, 0.75, 1].map((v) => (
          <g key={v}>
            <line x1={l} x2={W - R} y1={y(v)} y2={y(v)} stroke="#e5e7eb" />
            <text x={l - 6} y={y(v) + 4} textAnchor="end" fontSize={11} fill="#666">{v}</text>
            <text x={x(v)} y={h - b + 16} textAnchor="middle" fontSize={11} fill="#666">{v}</text>
          </g>
        ))}
        <text x={(l + W - R) / 2} y={h - 6} textAnchor="middle" fontSize={12} fill="#333">Confidence threshold</text>
        <line x1={x(threshold)} x2={x(threshold)} y1={T} y2={h - b} stroke="#333" strokeDasharray="4 3" />
        {CONF_SERIES.map((s) => <path key={s.key} d={path(s.key)} fill="none" stroke={s.color} strokeWidth={2} strokeDasharray={s.key === "share" ? "5 3" : undefined} />)}
      </svg>
    </div>
  );
}

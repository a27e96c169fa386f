import { useRef, useState, type MouseEvent } from "react";
import type { ReliabilityBin, ThresholdPoint } from "../../api/types";
import { saveSvgAsPng, saveText, toCsv } from "../../lib/download";
import { reliabilityPoints } from "./evaluation";

/** Heat map of real (rows) × predicted (columns); shade by share of the real class. */
export function ConfusionMatrix({ labels, matrix, onCell }: { labels: string[]; matrix: number[][]; onCell?: (real: string, predicted: string) => void }) {
  const [tip, setTip] = useState<{ x: number; y: number; text: string } | null>(null);
  return (
    <div className="cm-wrap" data-testid="confusion-matrix" onMouseLeave={() => setTip(null)}>
      <table className="cm">
        <thead>
          <tr>
            <th className="cm-corner">Real ↓ / Predicted →</th>
            {labels.map((l) => <th key={l} className="cm-head">{l}</th>)}
          </tr>
        </thead>
        <tbody>
          {matrix.map((row, i) => {
            const total = row.reduce((a, b) => a + b, 0) || 1;
            return (
              <tr key={i}>
                <th className="cm-head">{labels[i]}</th>
                {row.map((v, j) => {
                  const share = v / total;
                  const hue = i === j ? "33, 150, 83" : "220, 60, 60";
                  return (
                    <td
                      key={j}
                      className="cm-cell"
                      data-testid="cm-cell"
                      data-real={labels[i]}
                      data-predicted={labels[j]}
                      onClick={onCell && v > 0 ? () => onCell(labels[i], labels[j]) : undefined}
                      style={{ background: `rgba(${hue}, ${0.08 + share * 0.85})`, color: share > 0.55 ? "#fff" : undefined, cursor: onCell && v > 0 ? "pointer" : undefined }}
                      onMouseMove={(e) => {
                        const r = (e.currentTarget.closest(".cm-wrap") as HTMLElement).getBoundingClientRect();
                        setTip({ x: e.clientX - r.left + 12, y: e.clientY - r.top + 12, text: `Real: ${labels[i]} · Predicted: ${labels[j]} · ${v} (${(share * 100).toFixed(1)}% of ${labels[i]})` });
                      }}
                    >
                      {v}
                    </td>
                  );
                })}
              </tr>
            );
          })}
        </tbody>
      </table>
      {tip && <div className="tooltip" style={{ left: tip.x, top: tip.y }} data-testid="cm-tooltip">{tip.text}</div>}
    </div>
  );
}

const SERIES: { key: "precision" | "recall" | "f1"; color: string; name: string }[] = [
  { key: "precision", color: "#1f77b4", name: "Precision" },
  { key: "recall", color: "#d62728", name: "Recall" },
  { key: "f1", color: "#2ca02c", name: "F1" },
];

export function thresholdCsv(points: ThresholdPoint[]): string {
  return toCsv(["threshold", "precision", "recall", "f1", "tpr", "fpr"], points.map((p) => [p.threshold, p.precision, p.recall, p.f1, p.tpr, p.fpr]));
}

/** Precision, recall and F1 against the decision threshold; downloadable as PNG and CSV. */
export function ThresholdChart({ points, name, threshold = 0.5 }: { points: ThresholdPoint[]; name: string; threshold?: number }) {
  const svgRef = useRef<SVGSVGElement>(null);
  const [hover, setHover] = useState<ThresholdPoint | null>(null);
  const W = 520, H = 300, L = 44, R = 16, T = 16, B = 40;
  const sorted = [...points].sort((a, b) => a.threshold - b.threshold);
  const x = (t: number) => L + t * (W - L - R);
  const y = (v: number) => T + (1 - v) * (H - T - B);
  const path = (key: "precision" | "recall" | "f1") => sorted.map((p, i) => `${i ? "L" : "M"}${x(p.threshold).toFixed(1)},${y(p[key]).toFixed(1)}`).join(" ");

  const onMove = (e: MouseEvent<SVGSVGElement>) => {
    const r = e.currentTarget.getBoundingClientRect();
    const t = ((e.clientX - r.left) * (W / r.width) - L) / (W - L - R);
    let best: ThresholdPoint | null = null;
    for (const p of sorted) if (!best || Math.abs(p.threshold - t) < Math.abs(best.threshold - t)) best = p;
    setHover(best);
  };

  return (
    <div className="chart" data-testid="threshold-chart">
      <div className="toolbar">
        <b>Threshold curve</b>
        <span className="legend">{SERIES.map((s) => <span key={s.key}><i style={{ background: s.color }} />{s.name}</span>)}</span>
        <span className="spacer" />
        <button onClick={() => svgRef.current && void saveSvgAsPng(svgRef.current, `${name}-threshold.png`)} data-testid="chart-download-png">PNG</button>
        <button onClick={() => saveText(thresholdCsv(sorted), `${name}-threshold.csv`)} data-testid="chart-download-csv">CSV</button>
      </div>
      <svg ref={svgRef} viewBox={`0 0 ${W} ${H}`} className="chart-svg" onMouseMove={onMove} onMouseLeave={() => setHover(null)} role="img" aria-label="Threshold curve">
        <rect x={0} y={0} width={W} height={H} fill="#fff" />
        {[0, 0.25, 0.5, 0.75, 1].map((v) => (
          <g key={v}>
            <line x1={L} x2={W - R} y1={y(v)} y2={y(v)} stroke="#e5e7eb" />
            <text x={L - 6} y={y(v) + 4} textAnchor="end" fontSize={11} fill="#666">{v}</text>
            <text x={x(v)} y={H - B + 16} textAnchor="middle" fontSize={11} fill="#666">{v}</text>
          </g>
        ))}
        <text x={(L + W - R) / 2} y={H - 6} textAnchor="middle" fontSize={12} fill="#333">Threshold</text>
        <line x1={x(threshold)} x2={x(threshold)} y1={T} y2={H - B} stroke="#999" strokeDasharray="4 3" />
        {SERIES.map((s) => <path key={s.key} d={path(s.key)} fill="none" stroke={s.color} strokeWidth={2} />)}
        {hover && (
          <g>
            <line x1={x(hover.threshold)} x2={x(hover.threshold)} y1={T} y2={H - B} stroke="#333" />
            {SERIES.map((s) => <circle key={s.key} cx={x(hover.threshold)} cy={y(hover[s.key])} r={3.5} fill={s.color} />)}
          </g>
        )}
      </svg>
      <div className="muted small chart-readout" data-testid="chart-readout">
        {hover
          ? `threshold ${hover.threshold.toFixed(2)} · precision ${hover.precision.toFixed(3)} · recall ${hover.recall.toFixed(3)} · F1 ${hover.f1.toFixed(3)} · TPR ${hover.tpr.toFixed(3)} · FPR ${hover.fpr.toFixed(3)}`
          : `Dashed line: the ${threshold} threshold used for the figures above. Hover for values.`}
      </div>
    </div>
  );
}

export function Bars({ items }: { items: { name: string; value: number }[] }) {
  const max = Math.max(...items.map((i) => Math.abs(i.value)), 1e-9);
  return (
    <div className="bars">
      {items.map((i) => (
        <div key={i.name} className="bar-row">
          <span className="bar-name ellipsis" title={i.name}>{i.name}</span>
          <span className="bar"><span style={{ width: `${(Math.abs(i.value) / max) * 100}%` }} /></span>
          <span className="mono small">{i.value.toFixed(3)}</span>
        </div>
      ))}
    </div>
  );
}

const RELIABILITY: { key: "before" | "after"; color: string; name: string }[] = [
  { key: "before", color: "#d62728", name: "Before calibration" },
  { key: "after", color: "#1f77b4", name: "After (served)" },
];

/**
 * Reliability diagram: accuracy against mean confidence per confidence bin, before and after
 * calibration; a calibrated model lies on the diagonal. Dot area follows the bin's rows.
 */
export function ReliabilityChart({ before, after, name }: { before: ReliabilityBin[]; after: ReliabilityBin[]; name: string }) {
  const svgRef = useRef<SVGSVGElement>(null);
  const S = 280, L = 44, R = 12, T = 12, B = 40;
  const x = (v: number) => L + v * (S - L - R);
  const y = (v: number) => T + (1 - v) * (S - T - B);
  const series = { before: reliabilityPoints(before), after: reliabilityPoints(after) };
  const most = Math.max(1, ...series.before.map((p) => p.count), ...series.after.map((p) => p.count));
  return (
    <div className="chart reliability-chart" data-testid="reliability-chart">
      <div className="toolbar">
        <b>Reliability diagram</b>
        <span className="legend">{RELIABILITY.map((s) => <span key={s.key}><i style={{ background: s.color }} />{s.name}</span>)}</span>
        <span className="spacer" />
        <button onClick={() => svgRef.current && void saveSvgAsPng(svgRef.current, `${name}-reliability.png`)}>PNG</button>
      </div>
      <svg ref={svgRef} viewBox={`0 0 ${S} ${S}`} className="chart-svg" style={{ maxWidth: 360 }} role="img" aria-label="Reliability diagram">
        <rect x={0} y={0} width={S} height={S} fill="#fff" />
        {[0, 0.5, 1].map((v) => (
          <g key={v}>
            <line x1={L} x2={S - R} y1={y(v)} y2={y(v)} stroke="#e5e7eb" />
            <text x={L - 6} y={y(v) + 4} textAnchor="end" fontSize={11} fill="#666">{v}</text>
            <text x={x(v)} y={S - B + 16} textAnchor="middle" fontSize={11} fill="#666">{v}</text>
          </g>
        ))}
        <text x={(L + S - R) / 2} y={S - 6} textAnchor="middle" fontSize={12} fill="#333">Confidence</text>
        <text x={12} y={(T + S - B) / 2} textAnchor="middle" fontSize={12} fill="#333" transform={`rotate(-90 12 ${(T + S - B) / 2})`}>Accuracy</text>
        <line x1={x(0)} y1={y(0)} x2={x(1)} y2={y(1)} stroke="#999" strokeDasharray="4 3" />
        {RELIABILITY.map((s) => (
          <g key={s.key} data-testid={`reliability-${s.key}`}>
            <path
              d={series[s.key].map((p, i) => `${i ? "L" : "M"}${x(p.confidence).toFixed(1)},${y(p.accuracy).toFixed(1)}`).join(" ")}
              fill="none" stroke={s.color} strokeWidth={1.5} opacity={0.7}
            />
            {series[s.key].map((p, i) => (
              <circle key={i} cx={x(p.confidence)} cy={y(p.accuracy)} r={2 + 5 * Math.sqrt(p.count / most)} fill={s.color} opacity={0.75}>
                <title>{`${s.name}: confidence ${p.confidence.toFixed(3)}, accuracy ${p.accuracy.toFixed(3)}, ${p.count} samples`}</title>
              </circle>
            ))}
          </g>
        ))}
      </svg>
    </div>
  );
}

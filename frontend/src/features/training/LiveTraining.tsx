import type { LiveTraining as Live, ModelVersion } from "../../api/types";
import { ProgressBar } from "../../components/ui";
import { formatAxis, formatDuration, formatNumber, higherIsBetter, humanize } from "../../lib/format";

const COLORS = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#ca8a04", "#db2777"];

/** Validation score per candidate over time (or epochs), one line each; a small SVG. */
export function LiveChart({ live }: { live: Live }) {
  const points = live.curve.filter((p) => Number.isFinite(p.score));
  if (points.length === 0) return null;
  const names = [...new Set(points.map((p) => p.candidate))];
  const W = 520, H = 220, L = 44, R = 12, T = 12, B = 32;
  const tMax = Math.max(...points.map((p) => p.t), 1);
  let lo = Math.min(...points.map((p) => p.score));
  let hi = Math.max(...points.map((p) => p.score));
  if (hi - lo < 1e-9) { lo -= 0.05; hi += 0.05; }
  const x = (t: number) => L + (t / tMax) * (W - L - R);
  const y = (v: number) => T + (1 - (v - lo) / (hi - lo)) * (H - T - B);
  const metric = live.candidates.find((c) => c.metric)?.metric;
  return (
    <div className="chart" data-testid="live-chart">
      <div className="toolbar">
        <b>Validation {metric ? humanize(metric) : "score"}</b>
        <span className="legend">
          {names.map((n, i) => <span key={n}><i style={{ background: COLORS[i % COLORS.length] }} />{n}</span>)}
        </span>
      </div>
      <svg viewBox={`0 0 ${W} ${H}`} className="chart-svg" role="img" aria-label="Validation score while training">
        <rect x={0} y={0} width={W} height={H} fill="#fff" />
        {[0, 0.5, 1].map((f) => {
          const v = lo + f * (hi - lo);
          return (
            <g key={f}>
              <line x1={L} x2={W - R} y1={y(v)} y2={y(v)} stroke="#e5e7eb" />
              <text x={L - 6} y={y(v) + 4} textAnchor="end" fontSize={11} fill="#666">{formatAxis(v)}</text>
            </g>
          );
        })}
        <text x={(L + W - R) / 2} y={H - 8} textAnchor="middle" fontSize={11} fill="#666">seconds since start (0 – {Math.round(tMax)})</text>
        {names.map((n, i) => {
          const mine = points.filter((p) => p.candidate === n).sort((a, b) => a.t - b.t);
          const d = mine.map((p, k) => `${k ? "L" : "M"}${x(p.t).toFixed(1)},${y(p.score).toFixed(1)}`).join(" ");
          return (
            <g key={n} data-testid="live-series" data-candidate={n}>
              <path d={d} fill="none" stroke={COLORS[i % COLORS.length]} strokeWidth={2} />
              {mine.map((p, k) => <circle key={k} cx={x(p.t)} cy={y(p.score)} r={2.5} fill={COLORS[i % COLORS.length]}><title>{`${n}${p.epoch != null ? ` epoch ${p.epoch}` : ""}: ${p.score.toFixed(4)}`}</title></circle>)}
            </g>
          );
        })}
      </svg>
    </div>
  );
}

export function Leaderboard({ live, final = false }: { live: Live; final?: boolean }) {
  if (!live.candidates.length) return null;
  const metric = live.metric ?? live.candidates.find((c) => c.metric)?.metric;
  const sign = higherIsBetter(metric, live.higher_is_better) ? 1 : -1;
  // Best first in the metric's direction; candidates without a score last.
  const key = (score: number | null) => (score === null ? -Infinity : sign * score);
  const sorted = [...live.candidates].sort((a, b) => key(b.score) - key(a.score));
  const bestName = sorted.find((c) => c.score !== null)?.name;
  return (
    <table className="table compact" data-testid="live-leaderboard">
      <thead><tr><th>Candidate</th><th>Family</th><th>Status</th><th>Score</th><th>Time</th></tr></thead>
      <tbody>
        {sorted.map((c) => (
          <tr key={c.name} data-testid="live-candidate" data-status={c.status} className={c.name === bestName ? "selected" : ""}>
            <td>{c.name}{c.name === bestName && <span className="muted small">{final ? " (best on validation)" : " (best so far)"}</span>}</td>
            <td>{c.family}</td>
            <td>{humanize(c.status)}</td>
            <td data-testid="candidate-score">{c.score === null ? "—" : `${formatNumber(c.score)}${c.std_error ? ` ± ${formatNumber(c.std_error)}` : ""}${c.metric ? ` ${c.metric}` : ""}`}{(c.repeats ?? 1) > 1 && <span className="muted small"> ({c.repeats}× repeated)</span>}</td>
            <td>{formatDuration(c.seconds)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** `live` as the engine reported it: {} until the search reports (and for trainers that report nothing). */
function liveOf(v: ModelVersion): Live | null {
  return v.live && Array.isArray(v.live.candidates) && Array.isArray(v.live.curve) ? v.live : null;
}

/** After training: the search's last report stays readable (what was tried, how each scored). */
export function FinalLeaderboard({ version: v }: { version: ModelVersion }) {
  const live = liveOf(v);
  if (!live || live.candidates.length === 0) return null;
  return (
    <section className="panel" data-testid="version-leaderboard">
      <h3>Candidates tried</h3>
      <p className="muted small">Validation scores during the search, best first. The metrics above are the served model's, on the evaluation set.</p>
      <LiveChart live={live} />
      <Leaderboard live={live} final />
    </section>
  );
}

/**
 * A running version: what the engine reports (ETA, candidates, per-epoch scores) when the
 * backend sends `live`; the plain progress bar otherwise. "Stopping…" while a stop is in flight.
 */
export function LiveProgress({ version: v }: { version: ModelVersion }) {
  const stopping = v.status === "running" && v.stop_requested;
  const live = liveOf(v);
  const phase = v.status === "queued" ? `Queued${v.queue_position ? ` — position ${v.queue_position}` : ""}` : humanize(v.phase || "running");
  return (
    <div className="panel" data-testid="version-live">
      <ProgressBar value={v.progress} testId="version-progress" label={stopping ? "Stopping…" : undefined} />
      <p className="muted small" data-testid="version-phase">
        {stopping ? <b data-testid="version-stopping">Stopping… the best model so far is being kept</b> : phase}
        {live?.eta_seconds != null && !stopping && <> · about <b data-testid="version-eta">{formatDuration(live.eta_seconds)}</b> left</>}
        {" · "}Closing this page does not stop training.
      </p>
      {live && <LiveChart live={live} />}
      {live && <Leaderboard live={live} />}
    </div>
  );
}

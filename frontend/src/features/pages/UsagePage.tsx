import { usageApi } from "../../api/resources";
import { Empty, ErrorBox, ProgressBar } from "../../components/ui";
import type { Quota } from "../../api/types";
import { formatDate, quotaName, quotaValue } from "../../lib/format";
import { useLoad } from "../../lib/hooks";

/** One row per quota, named and in its unit (bytes for storage); a null limit is no limit. */
export function quotaRows(quotas: Quota[]): { code: string; name: string; used: string; limit: string; share: number | null }[] {
  return quotas.map((q) => ({
    code: q.quota,
    name: quotaName(q.quota),
    used: quotaValue(q.quota, q.used),
    limit: quotaValue(q.quota, q.limit),
    share: q.limit ? Math.min(1, q.used / q.limit) : null,
  }));
}

export function UsagePage() {
  const usage = useLoad(() => usageApi.usage(), []);
  const quotas = useLoad(() => usageApi.quotas(), []);
  const records = usage.data ?? [];
  const byFlavor = new Map<string, number>();
  for (const r of records) byFlavor.set(r.flavor, (byFlavor.get(r.flavor) ?? 0) + (r.minutes ?? 0));
  const qrows = quotaRows(quotas.data ?? []);

  return (
    <div className="page">
      <h1>Usage</h1>
      <section className="panel">
        <h2>Quotas</h2>
        <ErrorBox message={quotas.error} />
        {qrows.length > 0 ? (
          <table className="table compact narrow-table" data-testid="quota-list">
            <thead><tr><th>Quota</th><th>Used</th><th>Limit</th><th /></tr></thead>
            <tbody>
              {qrows.map((q) => (
                <tr key={q.code} data-testid={`quota-${q.code}`}>
                  <td data-testid="quota-name">{q.name}</td><td className="num">{q.used}</td><td className="num">{q.limit}</td>
                  <td className="quota-bar">{q.share !== null && <ProgressBar value={q.share} />}</td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : quotas.data !== undefined && <Empty>No quotas set.</Empty>}
      </section>
      <section className="panel">
        <h2>Compute minutes by flavor</h2>
        {byFlavor.size > 0 ? (
          <table className="table compact narrow-table" data-testid="usage-totals">
            <tbody>{[...byFlavor].map(([f, m]) => <tr key={f}><td>{f}</td><td className="num">{m.toFixed(1)} min</td></tr>)}</tbody>
          </table>
        ) : <Empty>No usage recorded.</Empty>}
      </section>
      <section className="panel">
        <h2>Records</h2>
        <ErrorBox message={usage.error} />
        <div className="x-scroll">
          <table className="table" data-testid="usage-list">
            <thead><tr><th>Resource</th><th>Flavor</th><th>Start</th><th>End</th><th>Minutes</th></tr></thead>
            <tbody>
              {records.map((r, i) => (
                <tr key={r.id ?? i}><td>{r.resource_name || r.resource}</td><td>{r.flavor}</td><td>{formatDate(r.start)}</td><td>{r.end ? formatDate(r.end) : "running"}</td><td className="num">{(r.minutes ?? 0).toFixed(1)}</td></tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>
    </div>
  );
}

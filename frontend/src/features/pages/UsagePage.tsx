import { usageApi } from "../../api/resources";
import { Empty, ErrorBox } from "../../components/ui";
import { formatDate, humanize } from "../../lib/format";
import { useLoad } from "../../lib/hooks";

interface QuotaRow {
  name: string;
  limit: unknown;
  used: unknown;
}

/** Quotas come as a list of {name|resource|code, limit, used} or an object keyed by name. */
export function quotaRows(data: unknown): QuotaRow[] {
  if (!data || typeof data !== "object") return [];
  const source = Array.isArray(data) ? data : (data as { results?: unknown }).results ?? data;
  if (Array.isArray(source)) {
    return source.map((q: Record<string, unknown>) => ({ name: String(q.name ?? q.resource ?? q.code ?? q.key ?? "?"), limit: q.limit, used: q.used }));
  }
  return Object.entries(source as Record<string, unknown>).map(([name, v]) =>
    v && typeof v === "object" ? { name, limit: (v as QuotaRow).limit, used: (v as QuotaRow).used } : { name, limit: v, used: undefined },
  );
}

export function UsagePage() {
  const usage = useLoad(() => usageApi.usage(), []);
  const quotas = useLoad(() => usageApi.quotas(), []);
  const records = usage.data ?? [];
  const byFlavor = new Map<string, number>();
  for (const r of records) byFlavor.set(r.flavor, (byFlavor.get(r.flavor) ?? 0) + (r.minutes ?? 0));
  const qrows = quotaRows(quotas.data);
  const show = (v: unknown) => (v === null || v === undefined ? "—" : String(v));

  return (
    <div className="page">
      <h1>Usage</h1>
      <section className="panel">
        <h2>Quotas</h2>
        <ErrorBox message={quotas.error} />
        {qrows.length > 0 ? (
          <table className="table compact narrow-table" data-testid="quota-list">
            <thead><tr><th>Quota</th><th>Used</th><th>Limit</th></tr></thead>
            <tbody>{qrows.map((q) => <tr key={q.name}><td>{humanize(q.name)}</td><td className="num">{show(q.used)}</td><td className="num">{show(q.limit)}</td></tr>)}</tbody>
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
        <table className="table" data-testid="usage-list">
          <thead><tr><th>Resource</th><th>Flavor</th><th>Start</th><th>End</th><th>Minutes</th></tr></thead>
          <tbody>
            {records.map((r, i) => (
              <tr key={i}><td>{r.resource}</td><td>{r.flavor}</td><td>{formatDate(r.start)}</td><td>{r.end ? formatDate(r.end) : "running"}</td><td className="num">{(r.minutes ?? 0).toFixed(1)}</td></tr>
            ))}
          </tbody>
        </table>
      </section>
    </div>
  );
}

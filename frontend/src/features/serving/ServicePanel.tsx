import { useEffect, useState } from "react";
import { errorText } from "../../api/client";
import { servingApi } from "../../api/serving";
import type { Service } from "../../api/types";
import { ConfirmDialog, ErrorBox, StatusBadge } from "../../components/ui";
import { formatDate, formatNumber, timeLeft } from "../../lib/format";
import { useInterval, useLoad, useNow } from "../../lib/hooks";

/** Fired after the test panel calls a service, so counts shown anywhere refresh at once. */
export const SERVICE_CALLED = "exeml:service-called";

/**
 * Calls and failures from the metrics endpoint, which flushes buffered calls first: the
 * service list's invocation_times lags behind it, so every page shows these numbers.
 */
export function useServiceMetrics(service: Pick<Service, "id" | "status">) {
  const metrics = useLoad(() => servingApi.metrics(service.id), [service.id]);
  useInterval(() => void metrics.reload(), 10000, service.status === "running");
  useEffect(() => {
    const again = () => void metrics.reload();
    window.addEventListener(SERVICE_CALLED, again);
    return () => window.removeEventListener(SERVICE_CALLED, again);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [service.id]);
  return metrics;
}

export function ServiceCallCounts({ service }: { service: Service }) {
  const m = useServiceMetrics(service).data;
  return (
    <span data-testid="service-call-counts">
      <b data-testid="service-calls">{m?.calls ?? service.invocation_times ?? 0}</b> calls ·{" "}
      <b data-testid="service-failures">{m?.failures ?? service.failed_times ?? 0}</b> failed
    </span>
  );
}

export function ServiceMetricsView({ service }: { service: Service }) {
  const m = useServiceMetrics(service).data;
  return (
    <div className="metric-cards" data-testid="service-metrics">
      <div className="metric"><span className="muted small">Calls</span><b data-testid="service-calls">{m?.calls ?? service.invocation_times ?? 0}</b></div>
      <div className="metric"><span className="muted small">Failures</span><b data-testid="service-failures">{m?.failures ?? service.failed_times ?? 0}</b></div>
      <div className="metric"><span className="muted small">Latency p50</span><b>{formatNumber(m?.latency_ms?.p50, 1)} ms</b></div>
      <div className="metric"><span className="muted small">p95</span><b>{formatNumber(m?.latency_ms?.p95, 1)} ms</b></div>
      <div className="metric"><span className="muted small">p99</span><b>{formatNumber(m?.latency_ms?.p99, 1)} ms</b></div>
    </div>
  );
}

/** Status, auto-stop countdown, Start/Stop/Delete for one service. */
export function ServiceControls(props: { service: Service; canWrite: boolean; onChanged: (s?: Service) => void; onDeleted?: () => void }) {
  const s = props.service;
  const now = useNow(1000);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [deleting, setDeleting] = useState(false);
  const left = s.status === "running" ? timeLeft(s.stop_at, now) : null;

  const act = async (fn: () => Promise<Service>) => {
    setBusy(true);
    setError(null);
    try {
      props.onChanged(await fn());
    } catch (err) {
      setError(errorText(err));
      props.onChanged();
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="service-controls" data-testid="service-controls" data-service-id={s.id}>
      <div className="toolbar wrap">
        <b>{s.name}</b>
        <StatusBadge status={s.status} testId="service-status" />
        <span className="muted small">{s.model?.name} · {s.flavor}</span>
        <span className="spacer" />
        {props.canWrite && (s.status === "stopped" || s.status === "failed") && (
          <button className="primary" disabled={busy} onClick={() => act(() => servingApi.start(s.id))} data-testid="service-start">Start</button>
        )}
        {props.canWrite && (s.status === "running" || s.status === "deploying") && (
          <button disabled={busy} onClick={() => act(() => servingApi.stop(s.id))} data-testid="service-stop">Stop</button>
        )}
        {props.canWrite && props.onDeleted && <button className="link danger" onClick={() => setDeleting(true)} data-testid="service-delete">Delete</button>}
      </div>
      <dl className="facts">
        <dt>Endpoint</dt><dd className="mono small" data-testid="service-url">{s.url || `/v1/infers/${s.id}`}</dd>
        <dt>Auto stop</dt>
        <dd data-testid="service-time-left">
          {s.stop_at ? <>{formatDate(s.stop_at)}{left && <> — <b>{left}</b> left</>}</> : "Off"}
        </dd>
        {s.auto_stop?.idle_minutes != null && (
          <>
            <dt>Idle stop</dt>
            <dd data-testid="service-idle-stop">
              after {s.auto_stop.idle_minutes} min without calls
              {s.status === "running" && s.auto_stop.idle_stop_at && <> — at {formatDate(s.auto_stop.idle_stop_at)} unless called</>}
            </dd>
          </>
        )}
        {s.last_call_at && <><dt>Last call</dt><dd>{formatDate(s.last_call_at)}</dd></>}
        <dt>Created</dt><dd>{formatDate(s.created_at)}</dd>
      </dl>
      {s.status === "failed" && s.error && <ErrorBox message={s.error} />}
      <ErrorBox message={error} />
      {deleting && (
        <ConfirmDialog
          title="Delete service"
          danger
          confirmLabel="Delete"
          message={<>Delete service <b>{s.name}</b>? Clients calling it will get errors.</>}
          onConfirm={async () => { await servingApi.remove(s.id); props.onDeleted?.(); }}
          onClose={() => setDeleting(false)}
        />
      )}
    </div>
  );
}

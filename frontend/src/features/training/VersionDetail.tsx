import { useState } from "react";
import { errorText } from "../../api/client";
import { trainingApi } from "../../api/training";
import type { ModelVersion, Project } from "../../api/types";
import { ConfirmDialog, ErrorBox, StatusBadge } from "../../components/ui";
import { formatDate, formatDuration, formatNumber, humanize, paramName, paramValue } from "../../lib/format";
import { useInterval, useLoad } from "../../lib/hooks";
import { DeployDialog } from "../serving/DeployDialog";
import { Bars, ConfusionMatrix } from "./charts";
import { BatchPredict } from "./BatchPredict";
import { FinalLeaderboard, LiveProgress } from "./LiveTraining";
import { ErrorHistogram, ResidualPlot } from "./EvaluationCharts";
import { BinaryEvaluation, CalibrationView, CellSamples, CompareVersions, ConfidenceThreshold } from "./EvaluationViews";

const METRIC_NAMES: Record<string, string> = {
  accuracy: "Accuracy", precision: "Precision", recall: "Recall", f1: "F1 score",
  mae: "MAE", mse: "MSE", rmse: "RMSE", r2: "R²", map50: "mAP@0.5", map50_95: "mAP@0.5:0.95",
};

export const isActive = (v: Pick<ModelVersion, "status">) => v.status === "queued" || v.status === "running";

function Logs({ project, version }: { project: Project; version: ModelVersion }) {
  const logs = useLoad(() => trainingApi.logs(project.id, version.id), [version.id]);
  useInterval(() => void logs.reload(), 3000, isActive(version));
  return (
    <div>
      <ErrorBox message={logs.error} />
      <pre className="logs" data-testid="version-logs">{logs.data?.lines?.join("\n") || (logs.loading ? "Loading…" : "No log lines.")}</pre>
    </div>
  );
}

export function VersionDetail(props: {
  project: Project;
  version: ModelVersion;
  versions?: ModelVersion[];
  canWrite: boolean;
  onChanged: () => void;
  onDeployed: () => void;
}) {
  const { project, version: v } = props;
  const [stopping, setStopping] = useState(false);
  const [deploying, setDeploying] = useState(false);
  const [showLogs, setShowLogs] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [cell, setCell] = useState<{ real: string; predicted: string } | null>(null);
  const ev = v.evaluation ?? {};
  // Durations are facts about the run, not quality metrics: shown with the parameters.
  const { train_seconds: trainSeconds, ...metrics } = v.metrics ?? {};
  const labels = ev.labels ?? ev.per_class?.map((c) => c.label) ?? [];
  const detection = project.type === "object_detection";
  // Detection's threshold curve is per confidence, not a two-class one: its view is the confidence one.
  const binary = !!ev.threshold_curve?.length && !detection;
  const confidence = ev.confidence?.points.length && (detection || project.type === "image_classification") ? ev.confidence : null;

  return (
    <div className="version-detail" data-testid="version-detail" data-version={v.name}>
      <div className="toolbar">
        <h2>{v.name}</h2>
        <StatusBadge status={v.status} testId="version-detail-status" />
        <span className="spacer" />
        {props.canWrite && isActive(v) && (
          <button className="danger-outline" disabled={v.stop_requested} onClick={() => setStopping(true)} data-testid="version-stop">
            {v.stop_requested ? "Stopping…" : "Stop"}
          </button>
        )}
        {props.canWrite && v.status === "completed" && <button className="primary" onClick={() => setDeploying(true)} data-testid="deploy-button">Deploy</button>}
      </div>
      <ErrorBox message={error} />
      {isActive(v) && <LiveProgress version={v} />}
      {v.status === "failed" && v.error && <ErrorBox message={`Training failed: ${v.error}`} />}
      {v.stopped_by_deadline && <p className="notice warn">The maximum training duration was reached; the best model so far was kept.</p>}

      {Object.keys(metrics).length > 0 && (
        <div className="metric-cards" data-testid="version-metrics">
          {Object.entries(metrics).map(([k, val]) => (
            <div key={k} className="metric" data-testid={`metric-${k}`}>
              <span className="muted small">{METRIC_NAMES[k] ?? humanize(k)}</span>
              <b>{formatNumber(val)}</b>
            </div>
          ))}
        </div>
      )}

      {binary && <BinaryEvaluation ev={ev} name={`${project.name}-${v.name}`} />}
      {confidence && <ConfidenceThreshold view={confidence} name={`${project.name}-${v.name}`} initial={ev.conf_threshold ?? 0.5} />}

      {ev.residuals && ev.residuals.total > 0 && (
        <section className="panel" data-testid="regression-evaluation">
          <h3>Residuals</h3>
          <div className="chart-pair">
            <ResidualPlot view={ev.residuals} name={`${project.name}-${v.name}`} />
            <ErrorHistogram view={ev.residuals} name={`${project.name}-${v.name}`} />
          </div>
        </section>
      )}

      {ev.per_class && ev.per_class.length > 0 && (
        <section className="panel">
          <h3>{detection ? "Per class (mAP)" : "Classification statistics"}</h3>
          <table className="table compact" data-testid="per-class-table">
            <thead>
              <tr><th>Label</th><th>Precision</th><th>Recall</th><th>F1</th>{ev.per_class.some((c) => c.ap !== undefined) && <th>AP</th>}<th>Support</th></tr>
            </thead>
            <tbody>
              {ev.per_class.map((c) => (
                <tr key={c.label}>
                  <td>{c.label}</td><td>{formatNumber(c.precision)}</td><td>{formatNumber(c.recall)}</td><td>{formatNumber(c.f1)}</td>
                  {ev.per_class!.some((x) => x.ap !== undefined) && <td>{formatNumber(c.ap)}</td>}
                  <td>{c.support}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      )}

      {ev.confusion_matrix && ev.confusion_matrix.length > 0 && (
        <section className="panel">
          <h3>Confusion matrix{binary && ev.threshold !== undefined ? ` (threshold ${ev.threshold})` : ""}</h3>
          <p className="muted small">Click a cell to see the evaluation samples it counts.</p>
          <ConfusionMatrix labels={labels} matrix={ev.confusion_matrix} onCell={(real, predicted) => setCell({ real, predicted })} />
        </section>
      )}
      {ev.calibration && <CalibrationView calibration={ev.calibration} name={`${project.name}-${v.name}`} />}
      {!isActive(v) && <FinalLeaderboard version={v} />}
      {cell && <CellSamples project={project} version={v} real={cell.real} predicted={cell.predicted} onClose={() => setCell(null)} />}

      {v.status === "completed" && props.versions && props.versions.filter((x) => x.status === "completed").length > 1 && (
        <CompareVersions project={project} version={v} versions={props.versions} />
      )}

      {props.canWrite && v.status === "completed" && <BatchPredict key={v.id} project={project} version={v} />}

      {ev.feature_importance && ev.feature_importance.length > 0 && (
        <section className="panel">
          <h3>Feature importance</h3>
          <Bars items={ev.feature_importance.map((f) => ({ name: f.feature, value: f.importance }))} />
        </section>
      )}

      <section className="panel">
        <h3>Training parameters</h3>
        <table className="table compact narrow-table" data-testid="version-params">
          <tbody>
            {Object.entries(v.params ?? {}).map(([k, val]) => (
              <tr key={k}><th>{paramName(k)}</th><td>{paramValue(k, val)}</td></tr>
            ))}
            {project.type === "predictive_analytics" && project.label_column && (
              <tr><th>Label column</th><td><span className="mono">{project.label_column}</span> ({project.label_type ? humanize(project.label_type) : "—"})</td></tr>
            )}
            <tr><th>Started</th><td>{formatDate(v.started_at)}</td></tr>
            <tr><th>Finished</th><td>{formatDate(v.finished_at)}</td></tr>
            {trainSeconds !== undefined && <tr><th>Training time</th><td data-testid="version-train-time">{formatDuration(trainSeconds)}</td></tr>}
          </tbody>
        </table>
      </section>

      <section className="panel">
        <button className="link" onClick={() => setShowLogs((s) => !s)} data-testid="version-logs-toggle">{showLogs ? "Hide logs" : "Show logs"}</button>
        {showLogs && <Logs project={project} version={v} />}
      </section>

      {stopping && (
        <ConfirmDialog
          title={`Stop ${v.name}`}
          message="Stop this training run? A stopped version cannot be resumed."
          confirmLabel="Stop"
          danger
          onConfirm={async () => {
            try {
              await trainingApi.stop(project.id, v.id);
            } catch (err) {
              setError(errorText(err));
            }
            props.onChanged();
          }}
          onClose={() => setStopping(false)}
        />
      )}
      {deploying && <DeployDialog project={project} version={v} onClose={() => setDeploying(false)} onDeployed={props.onDeployed} />}
    </div>
  );
}

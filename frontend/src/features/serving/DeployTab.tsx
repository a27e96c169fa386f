import { useState } from "react";
import { servingApi } from "../../api/serving";
import { trainingApi } from "../../api/training";
import type { Service } from "../../api/types";
import { Empty, ErrorBox, Notice, StatusBadge } from "../../components/ui";
import { formatDate } from "../../lib/format";
import { useInterval, useLoad } from "../../lib/hooks";
import { useAuth } from "../auth/AuthContext";
import { useProject } from "../projects/ProjectPage";
import { ApiExample } from "./ApiExample";
import { DeployDialog } from "./DeployDialog";
import { ServiceControls, ServiceMetricsView } from "./ServicePanel";
import { TestPanel } from "./TestPanel";

const transitional = (s: Service) => s.status === "deploying" || s.status === "stopping";

export function DeployTab() {
  const { project } = useProject();
  const { canWrite } = useAuth();
  const services = useLoad(async () => (await servingApi.list()).filter((s) => s.project_id === project.id), [project.id]);
  const versions = useLoad(() => trainingApi.versions(project.id), [project.id]);
  const [selectedId, setSelectedId] = useState<string | null>(null);
  const [deploying, setDeploying] = useState(false);

  const list = [...(services.data ?? [])].sort((a, b) => b.created_at.localeCompare(a.created_at));
  const selected = list.find((s) => s.id === selectedId) ?? list.find((s) => s.status === "running") ?? list[0];
  useInterval(() => void services.reload(), 2000, list.some(transitional));
  // A running service can stop on its own (auto stop); look again now and then.
  useInterval(() => void services.reload(), 30000, list.some((s) => s.status === "running"));

  const replace = (s?: Service) => {
    if (s && services.data) services.setData(services.data.map((x) => (x.id === s.id ? s : x)));
    void services.reload();
  };
  const hasCompleted = (versions.data ?? []).some((v) => v.status === "completed");
  const versionName = (s: Service) => versions.data?.find((v) => v.id === s.version_id)?.name ?? s.model?.name;

  return (
    <div className="deploy-tab">
      <div className="toolbar">
        {canWrite && (
          <button className="primary" disabled={!hasCompleted} onClick={() => setDeploying(true)} data-testid="deploy-button"
            title={hasCompleted ? undefined : "Train a version to completion first"}>
            Deploy
          </button>
        )}
        {versions.data && !hasCompleted && <span className="muted small">No completed version to deploy yet.</span>}
      </div>
      <ErrorBox message={services.error} />
      {services.data && list.length === 0 && <Empty>No service yet. Deploy a completed version.</Empty>}
      {list.length > 0 && (
        <div className="deploy-layout">
          <aside className="version-list" data-testid="service-list">
            <h3>Services</h3>
            {list.map((s) => (
              <button key={s.id} className={`version-row${s.id === selected?.id ? " active" : ""}`} onClick={() => setSelectedId(s.id)}
                data-testid="service-row" data-service-id={s.id} data-status={s.status}>
                <span className="version-name">{versionName(s)}</span>
                <StatusBadge status={s.status} />
                <span className="muted small">{formatDate(s.created_at)}</span>
              </button>
            ))}
          </aside>
          {selected && (
            <div className="version-main">
              <section className="panel">
                <ServiceControls service={selected} canWrite={canWrite} onChanged={replace} onDeleted={() => { setSelectedId(null); void services.reload(); }} />
                <ServiceMetricsView key={selected.id} service={selected} />
              </section>
              {selected.status === "running" ? (
                <TestPanel key={selected.id} service={selected} project={project} />
              ) : (
                <Notice>{selected.status === "deploying" ? "Deploying… the test panel opens when the service is running." : "Start the service to test it."}</Notice>
              )}
              <ApiExample service={selected} />
            </div>
          )}
        </div>
      )}
      {deploying && (
        <DeployDialog project={project} versions={versions.data ?? []} onClose={() => setDeploying(false)}
          onDeployed={(s) => { setSelectedId(s.id); void services.reload(); }} />
      )}
    </div>
  );
}

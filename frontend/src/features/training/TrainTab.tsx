import { useEffect, useState } from "react";
import { useNavigate, useSearchParams } from "react-router-dom";
import { trainingApi } from "../../api/training";
import type { ModelVersion } from "../../api/types";
import { Empty, ErrorBox, ProgressBar, StatusBadge } from "../../components/ui";
import { formatDate } from "../../lib/format";
import { useInterval, useLoad } from "../../lib/hooks";
import { useAuth } from "../auth/AuthContext";
import { useProject } from "../projects/ProjectPage";
import { TrainDialog } from "./TrainDialog";
import { isActive, VersionDetail } from "./VersionDetail";

export function TrainTab() {
  const { project, reloadProject } = useProject();
  const { canWrite } = useAuth();
  const navigate = useNavigate();
  const check = useLoad(() => trainingApi.check(project.id), [project.id]);
  const versions = useLoad(() => trainingApi.versions(project.id), [project.id]);
  // The open version is in the URL (?version=V002): reload and links keep it.
  const [params, setParams] = useSearchParams();
  const selectedName = params.get("version");
  const showVersion = (name: string) =>
    setParams((p) => { const n = new URLSearchParams(p); n.set("version", name); return n; }, { replace: true });
  const [training, setTraining] = useState(false);

  const list = [...(versions.data ?? [])].sort((a, b) => a.name.localeCompare(b.name));
  const selectedSummary = list.find((v) => v.name === selectedName) ?? list[list.length - 1];
  const detail = useLoad(
    () => (selectedSummary ? trainingApi.version(project.id, selectedSummary.id) : Promise.resolve(undefined)),
    [project.id, selectedSummary?.id],
  );
  const anyActive = list.some(isActive) || (detail.data ? isActive(detail.data) : false);

  // Follow running versions; when one ends, refresh the project status and the check.
  useInterval(
    () => {
      void versions.reload();
      void detail.reload();
    },
    2000,
    anyActive,
  );
  const [wasActive, setWasActive] = useState(false);
  useEffect(() => {
    if (wasActive && !anyActive) {
      void reloadProject();
      void check.reload();
    }
    setWasActive(anyActive);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [anyActive]);

  const started = (v: ModelVersion) => {
    setTraining(false);
    showVersion(v.name);
    void versions.reload();
    void reloadProject();
  };

  const blocked = !check.data?.ok;
  return (
    <div className="train-tab">
      <div className="toolbar">
        {canWrite && (
          <button className="primary" disabled={blocked} onClick={() => setTraining(true)} data-testid="train-button"
            title={blocked ? check.data?.reasons.join("\n") : undefined}>
            Train
          </button>
        )}
        {check.data && !check.data.ok && (
          <ul className="reasons" data-testid="train-blocked-reasons">
            {check.data.reasons.map((r) => <li key={r}>{r}</li>)}
          </ul>
        )}
        <ErrorBox message={check.error} />
      </div>
      <div className="train-layout">
        <aside className="version-list" data-testid="version-list">
          <h3>Versions</h3>
          {versions.data && list.length === 0 && <Empty>No training runs yet.</Empty>}
          <ErrorBox message={versions.error} />
          {list.map((v) => (
            <button key={v.id} className={`version-row${v.id === selectedSummary?.id ? " active" : ""}`} onClick={() => showVersion(v.name)}
              data-testid={`version-row-${v.name}`} data-status={v.status}>
              <span className="version-name">{v.name}</span>
              {v.status === "running" && v.stop_requested ? <span className="badge run" data-testid="version-status" data-status="stopping">Stopping…</span> : <StatusBadge status={v.status} testId="version-status" />}
              {isActive(v) && <ProgressBar value={v.progress} />}
              <span className="muted small">{formatDate(v.created_at ?? v.started_at)}</span>
            </button>
          ))}
        </aside>
        <div className="version-main">
          <ErrorBox message={detail.error} />
          {detail.data && (
            <VersionDetail project={project} version={detail.data} versions={list} canWrite={canWrite}
              onChanged={() => { void versions.reload(); void detail.reload(); }}
              onDeployed={() => navigate("../deploy")} />
          )}
        </div>
      </div>
      {training && <TrainDialog project={project} versions={list} onClose={() => setTraining(false)} onStarted={started} />}
    </div>
  );
}

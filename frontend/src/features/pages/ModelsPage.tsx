import { Link } from "react-router-dom";
import { modelsApi } from "../../api/resources";
import { Empty, ErrorBox } from "../../components/ui";
import { formatDate, formatNumber, typeTitle } from "../../lib/format";
import { useLoad } from "../../lib/hooks";
import { formatBytes } from "../../lib/upload";
import { useAuth } from "../auth/AuthContext";

export function ModelsPage() {
  const { canAdmin } = useAuth();
  const models = useLoad(() => modelsApi.list(), []);
  return (
    <div className="page">
      <h1>Models</h1>
      <p className="muted">Every finished training version, ready to deploy. Owners and admins can download the ONNX bundle.</p>
      <ErrorBox message={models.error} />
      {models.data && models.data.length === 0 ? (
        <Empty>No models yet. Train a project to get one.</Empty>
      ) : (
        <div className="x-scroll">
          <table className="table" data-testid="model-list">
            <thead><tr><th>Name</th><th>Type</th><th>Metrics</th><th>Size</th><th>Created</th><th /></tr></thead>
            <tbody>
              {models.data?.map((m) => (
                <tr key={m.id} data-testid={`model-row-${m.name}`}>
                  <td><Link to={`/projects/${m.project_id}/train`}>{m.name}</Link></td>
                  <td>{typeTitle(m.task_type)}</td>
                  <td className="small">{Object.entries(m.metrics ?? {}).filter(([k]) => k !== "train_seconds").slice(0, 4).map(([k, v]) => `${k} ${formatNumber(v)}`).join(" · ") || "—"}</td>
                  <td>{formatBytes(m.size_bytes ?? 0)}</td>
                  <td>{formatDate(m.created_at)}</td>
                  <td className="actions">
                    {canAdmin ? (
                      <a className="button" href={modelsApi.downloadUrl(m.id)} download data-testid="model-download">Download ONNX</a>
                    ) : (
                      <span className="muted small" title="Owner or admin only">—</span>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}

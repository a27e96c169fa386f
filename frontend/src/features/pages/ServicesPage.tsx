import { Link } from "react-router-dom";
import { servingApi } from "../../api/serving";
import { Empty, ErrorBox } from "../../components/ui";
import { typeTitle } from "../../lib/format";
import { useInterval, useLoad } from "../../lib/hooks";
import { useAuth } from "../auth/AuthContext";
import { ServiceCallCounts, ServiceControls } from "../serving/ServicePanel";

export function ServicesPage() {
  const { canWrite } = useAuth();
  const services = useLoad(() => servingApi.list(), []);
  const list = services.data ?? [];
  useInterval(() => void services.reload(), 3000, list.some((s) => s.status === "deploying" || s.status === "stopping"));
  return (
    <div className="page">
      <h1>Services</h1>
      <p className="muted">Real-time prediction services. A stopped service costs nothing.</p>
      <ErrorBox message={services.error} />
      {services.data && list.length === 0 && <Empty>No services. Deploy a version from a project's Train Model tab.</Empty>}
      <div className="service-cards" data-testid="services-list">
        {list.map((s) => (
          <section key={s.id} className="panel" data-testid="service-card">
            <ServiceControls service={s} canWrite={canWrite} onChanged={() => void services.reload()} onDeleted={() => void services.reload()} />
            <div className="toolbar">
              <span className="muted small">{typeTitle(s.task_type)} · <ServiceCallCounts service={s} /></span>
              <span className="spacer" />
              <Link to={`/projects/${s.project_id}/deploy`} data-testid="service-open">Test and API ›</Link>
            </div>
          </section>
        ))}
      </div>
    </div>
  );
}

import { Link, NavLink, Outlet, useOutletContext, useParams } from "react-router-dom";
import { projectsApi } from "../../api/projects";
import type { Project } from "../../api/types";
import { ErrorBox, Loading, StatusBadge } from "../../components/ui";
import { typeTitle } from "../../lib/format";
import { useLoad } from "../../lib/hooks";

export interface ProjectContext {
  project: Project;
  reloadProject: () => Promise<void>;
}

export function useProject(): ProjectContext {
  return useOutletContext<ProjectContext>();
}

export function ProjectPage() {
  const { projectId } = useParams();
  const project = useLoad(() => projectsApi.get(projectId!), [projectId]);
  if (project.error && !project.data) return <div className="page"><ErrorBox message={project.error} /></div>;
  if (!project.data) return <Loading what="project" />;
  const p = project.data;
  return (
    <div className="page">
      <div className="crumbs"><Link to="/exeml">ExeML</Link> / {p.name}</div>
      <div className="project-head">
        <h1 data-testid="project-title">{p.name}</h1>
        <span className="muted">{typeTitle(p.type)}</span>
        <StatusBadge status={p.status} testId="project-header-status" />
      </div>
      {p.description && <p className="muted">{p.description}</p>}
      <nav className="tabs">
        <NavLink to="label" data-testid="tab-label">Label Data</NavLink>
        <NavLink to="train" data-testid="tab-train">Train Model</NavLink>
        <NavLink to="deploy" data-testid="tab-deploy">Deploy Service</NavLink>
      </nav>
      <Outlet context={{ project: p, reloadProject: project.reload } satisfies ProjectContext} />
    </div>
  );
}

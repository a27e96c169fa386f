import { useEffect, useState } from "react";
import { Link, useNavigate } from "react-router-dom";
import { projectsApi } from "../../api/projects";
import type { Project, ProjectType } from "../../api/types";
import { Icon } from "../../components/icons";
import { ConfirmDialog, Empty, ErrorBox, Pager, StatusBadge } from "../../components/ui";
import { formatDate, PROJECT_TYPES, typeTitle } from "../../lib/format";
import { useLoad } from "../../lib/hooks";
import { useAuth } from "../auth/AuthContext";

const PAGE_SIZE = 10;

export function ExemlPage() {
  const { canWrite } = useAuth();
  const navigate = useNavigate();
  const [search, setSearch] = useState("");
  const [query, setQuery] = useState("");
  const [type, setType] = useState<ProjectType | "">("");
  const [page, setPage] = useState(1);
  const [deleting, setDeleting] = useState<Project | null>(null);

  // Search as you type, but only after a short pause.
  useEffect(() => {
    const t = setTimeout(() => {
      setQuery(search.trim());
      setPage(1);
    }, 250);
    return () => clearTimeout(t);
  }, [search]);

  const projects = useLoad(() => projectsApi.list({ search: query, type, page, page_size: PAGE_SIZE }), [query, type, page]);

  return (
    <div className="page">
      <h1>ExeML</h1>
      <p className="muted">Pick a project type to build a model without writing code: prepare data, label, train, deploy.</p>
      <div className="type-cards">
        {PROJECT_TYPES.map((t) => (
          <div className="type-card" key={t.type} data-testid={`project-card-${t.type}`}>
            <div className="type-icon"><Icon name={t.type} size={28} /></div>
            <h3>{t.title}</h3>
            <p className="muted">{t.blurb}</p>
            <button
              className="primary"
              disabled={!canWrite}
              title={canWrite ? undefined : "Viewers cannot create projects"}
              onClick={() => navigate(`/exeml/create/${t.type}`)}
              data-testid={`create-project-${t.type}`}
            >
              Create Project
            </button>
          </div>
        ))}
      </div>

      <section className="panel">
        <div className="toolbar">
          <h2>Projects</h2>
          <span className="spacer" />
          <select value={type} onChange={(e) => { setType(e.target.value as ProjectType | ""); setPage(1); }} data-testid="project-type-filter">
            <option value="">All types</option>
            {PROJECT_TYPES.map((t) => <option key={t.type} value={t.type}>{t.title}</option>)}
          </select>
          <input type="search" placeholder="Search by name" value={search} onChange={(e) => setSearch(e.target.value)} data-testid="project-search" />
        </div>
        <ErrorBox message={projects.error} />
        {projects.data && projects.data.results.length === 0 ? (
          <Empty>No projects yet. Create one from a card above.</Empty>
        ) : (
          <table className="table" data-testid="project-list">
            <thead>
              <tr><th>Name</th><th>Type</th><th>Training Status</th><th>Data Source</th><th>Created</th><th /></tr>
            </thead>
            <tbody>
              {projects.data?.results.map((p) => (
                <tr key={p.id} data-testid={`project-row-${p.name}`}>
                  <td><Link to={`/projects/${p.id}/label`} data-testid="project-link">{p.name}</Link>{p.description && <div className="muted small">{p.description}</div>}</td>
                  <td>{typeTitle(p.type)}</td>
                  <td><StatusBadge status={p.status} testId="project-status" /></td>
                  <td className="mono small">{p.training_data || p.dataset?.input_path || "—"}</td>
                  <td>{formatDate(p.created_at)}</td>
                  <td className="actions">
                    {canWrite && <button className="link danger" onClick={() => setDeleting(p)} data-testid="project-delete">Delete</button>}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {projects.data && <Pager page={page} pageSize={PAGE_SIZE} count={projects.data.count} onPage={setPage} />}
      </section>

      {deleting && (
        <ConfirmDialog
          title="Delete project"
          danger
          confirmLabel="Delete"
          message={<>Delete project <b>{deleting.name}</b>? Its versions and services are removed too. This cannot be undone.</>}
          onConfirm={async () => {
            await projectsApi.remove(deleting.id);
            await projects.reload();
          }}
          onClose={() => setDeleting(null)}
        />
      )}
    </div>
  );
}

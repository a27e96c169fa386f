import { useEffect, useState } from "react";
import { Link, useNavigate, useSearchParams } from "react-router-dom";
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
  // Search, type filter and page live in the URL (reload and back keep them).
  const [params, setParams] = useSearchParams();
  const query = params.get("q") ?? "";
  const type = (params.get("type") ?? "") as ProjectType | "";
  const page = Math.max(1, Number(params.get("page")) || 1);
  const setUrl = (changes: Record<string, string | number>, replace = false) =>
    setParams((cur) => {
      const n = new URLSearchParams(cur);
      for (const [k, v] of Object.entries(changes)) {
        if (v === "" || (k === "page" && v === 1)) n.delete(k);
        else n.set(k, String(v));
      }
      return n;
    }, { replace });
  const setType = (t: ProjectType | "") => setUrl({ type: t, page: 1 });
  const setPage = (p: number) => setUrl({ page: p });
  const [search, setSearch] = useState(query);
  const [deleting, setDeleting] = useState<Project | null>(null);

  // Search as you type, but only after a short pause.
  useEffect(() => {
    const t = setTimeout(() => {
      if (search.trim() !== query) setUrl({ q: search.trim(), page: 1 }, true);
    }, 250);
    return () => clearTimeout(t);
    // eslint-disable-next-line react-hooks/exhaustive-deps
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
              title={canWrite ? undefined : "Your role cannot create projects"}
              onClick={() => navigate(`/exeml/create/${t.type}`)}
              data-testid={`create-project-${t.type}`}
            >
              Create Project
            </button>
          </div>
        ))}
      </div>

      <section className="panel">
        <div className="toolbar wrap">
          <h2>Projects</h2>
          <span className="spacer" />
          <select value={type} onChange={(e) => setType(e.target.value as ProjectType | "")} data-testid="project-type-filter">
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
              <tr><th>Name</th><th className="hide-narrow">Type</th><th>Training Status</th><th className="hide-narrow">Data Source</th><th className="hide-narrow">Created</th><th /></tr>
            </thead>
            <tbody>
              {projects.data?.results.map((p) => (
                <tr key={p.id} data-testid={`project-row-${p.name}`}>
                  <td><Link to={`/projects/${p.id}/label`} data-testid="project-link">{p.name}</Link>{p.description && <div className="muted small">{p.description}</div>}</td>
                  <td className="hide-narrow">{typeTitle(p.type)}</td>
                  <td><StatusBadge status={p.status} testId="project-status" /></td>
                  <td className="mono small hide-narrow break">{p.training_data || p.dataset?.input_path || "—"}</td>
                  <td className="hide-narrow">{formatDate(p.created_at)}</td>
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

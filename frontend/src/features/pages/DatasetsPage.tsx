import { useState } from "react";
import { errorText } from "../../api/client";
import { datasetsApi, waitForJob } from "../../api/datasets";
import type { Dataset } from "../../api/types";
import { ConfirmDialog, Empty, ErrorBox, Pager } from "../../components/ui";
import { typeTitle } from "../../lib/format";
import { useLoad } from "../../lib/hooks";
import { useAuth } from "../auth/AuthContext";
import { CsvReplace } from "../labeling/CsvReplace";

const PAGE_SIZE = 20;

export function DatasetsPage() {
  const { canWrite } = useAuth();
  const [page, setPage] = useState(1);
  const [deleting, setDeleting] = useState<Dataset | null>(null);
  const datasets = useLoad(() => datasetsApi.list({ page, page_size: PAGE_SIZE }), [page]);
  const [syncing, setSyncing] = useState<Record<string, string>>({});
  const [error, setError] = useState<string | null>(null);
  // Synchronize re-reads the input path (a predictive-analytics CSV is profiled again).
  // The row's status names the last sync's first refusal, so the reason stays in view.
  const synchronize = async (d: Dataset) => {
    setError(null);
    setSyncing((s) => ({ ...s, [d.id]: "Synchronizing…" }));
    try {
      const job = await waitForJob((await datasetsApi.sync(d.id)).id);
      if (job.status !== "succeeded") setError(`${d.name}: ${job.detail || "the synchronization failed"}`);
      await datasets.reload();
    } catch (err) {
      setError(`${d.name}: ${errorText(err)}`);
    } finally {
      setSyncing(({ [d.id]: _done, ...rest }) => rest);
    }
  };
  return (
    <div className="page">
      <h1>Datasets</h1>
      <ErrorBox message={datasets.error} />
      <ErrorBox message={error} />
      {datasets.data && datasets.data.results.length === 0 ? (
        <Empty>No datasets. They are created with a project.</Empty>
      ) : (
        <div className="x-scroll">
          <table className="table stack-narrow" data-testid="dataset-list">
            <thead><tr><th>Name</th><th>Type</th><th>Input path</th><th>Output path</th><th>Samples</th><th>Labeled</th><th>Last sync</th><th /></tr></thead>
            <tbody>
              {datasets.data?.results.map((d) => (
                <tr key={d.id} data-testid={`dataset-row-${d.name}`}>
                  <td data-label="Name">{d.name}</td>
                  <td data-label="Type">{typeTitle(d.type)}</td>
                  <td className="mono small" data-label="Input">{d.input_path}</td>
                  <td className="mono small" data-label="Output">{d.output_path}</td>
                  <td className="num" data-label="Samples">{d.sample_count}</td>
                  <td className="num" data-label="Labeled">{d.labeled_count}</td>
                  <td className="small" data-label="Last sync" data-testid="dataset-sync-status">{syncing[d.id] ?? syncSummary(d)}</td>
                  <td className="actions">
                    {canWrite && (
                      <button className="link" disabled={!!syncing[d.id]} onClick={() => void synchronize(d)} data-testid="dataset-sync">Synchronize</button>
                    )}
                    {/* A predictive-analytics table: a new CSV replaces it and is synchronized. */}
                    {canWrite && d.type === "predictive_analytics" && d.csv_path && (
                      <CsvReplace
                        link csvPath={d.csv_path} disabled={!!syncing[d.id]} testId="dataset-csv-upload"
                        onReplaced={() => synchronize(d)} onError={(m) => setError(m && `${d.name}: ${m}`)}
                      />
                    )}
                    {canWrite && <button className="link danger" onClick={() => setDeleting(d)} data-testid="dataset-delete">Delete</button>}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {datasets.data && <Pager page={page} pageSize={PAGE_SIZE} count={datasets.data.count} onPage={setPage} />}
      {deleting && (
        <ConfirmDialog title="Delete dataset" danger confirmLabel="Delete"
          message={<>Delete dataset <b>{deleting.name}</b> with its samples and labels? Source files in storage are kept.</>}
          onConfirm={async () => { await datasetsApi.remove(deleting.id); await datasets.reload(); }}
          onClose={() => setDeleting(null)} />
      )}
    </div>
  );
}

/** The last synchronization in a few words: its status and, when files were refused, the first reason. */
function syncSummary(d: Dataset): string {
  const job = d.last_sync_job;
  if (!job) return "never";
  if (typeof job === "string") return "";
  const errors = Array.isArray(job.errors) ? (job.errors as { file?: string; reason?: string }[]) : [];
  const first = errors[0];
  return first ? `${job.status}; ${first.file ?? ""}: ${first.reason ?? ""}` : job.status;
}

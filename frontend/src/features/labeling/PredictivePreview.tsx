import { useState } from "react";
import { Link } from "react-router-dom";
import { errorText } from "../../api/client";
import { datasetsApi, isTableState, waitForJob } from "../../api/datasets";
import { projectsApi } from "../../api/projects";
import type { Project } from "../../api/types";
import { ErrorBox, Loading, Notice } from "../../components/ui";
import { formatPercent } from "../../lib/format";
import { useInterval, useLoad } from "../../lib/hooks";
import { CsvReplace } from "./CsvReplace";

const SEPARATORS: Record<string, string> = { ",": "comma (,)", ";": "semicolon (;)", "\t": "tab", "|": "bar (|)" };

/**
 * Predictive analytics: preview the CSV (columns named by its header, or attr_1 … attr_N),
 * what was detected (separator, header row, with a toggle to override it) and the label
 * column and its type. In every state the CSV's path, Synchronize and "Upload a new CSV" stay
 * in view; without a profile it says why (the API's reason) beside them.
 */
export function PredictivePreview(props: { project: Project; canWrite: boolean; onSaved: () => Promise<void> }) {
  const datasetId = props.project.dataset?.id;
  const loaded = useLoad(
    () => (datasetId ? datasetsApi.previewOrState(datasetId) : Promise.reject(new Error("This project has no dataset yet."))),
    [datasetId],
  );
  const state = isTableState(loaded.data) ? loaded.data : null;
  const preview = { ...loaded, data: isTableState(loaded.data) ? undefined : loaded.data };
  const csvPath = preview.data?.csv_path || props.project.dataset?.csv_path || props.project.training_data || "";
  const [syncing, setSyncing] = useState<string | null>(null);
  const [column, setColumn] = useState(props.project.label_column ?? "");
  const [kind, setKind] = useState<"discrete" | "continuous">(props.project.label_type || "discrete");
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);
  const [busy, setBusy] = useState(false);

  const columns = preview.data?.columns ?? [];
  const chosen = columns.find((c) => c.name === column);
  const hint =
    kind === "continuous" && chosen && chosen.kind !== "numeric"
      ? "A continuous label needs a numeric column."
      : kind === "continuous" && chosen && chosen.distinct < 25
        ? "A continuous label needs at least 25 distinct values."
        : null;

  // A sync started elsewhere (at creation, on Datasets): follow it until the state changes.
  useInterval(() => void loaded.reload(), 2000, state?.state === "syncing" && !syncing);

  const synchronize = async () => {
    if (!datasetId) return;
    setError(null);
    setSyncing("Synchronizing…");
    try {
      const job = await datasetsApi.sync(datasetId);
      const done = await waitForJob(job.id, (j) => setSyncing(`Synchronizing… ${Math.round((j.progress ?? 0) * 100)} %`));
      if (done.status !== "succeeded") setError(done.detail || "The synchronization failed.");
      await loaded.reload();
    } catch (err) {
      setError(errorText(err));
    } finally {
      setSyncing(null);
    }
  };

  const setHeader = async (hasHeader: boolean | null) => {
    if (!datasetId) return;
    setBusy(true);
    setError(null);
    try {
      const answer = await datasetsApi.tableSettings(datasetId, hasHeader);
      if (answer.sync_job) await waitForJob(answer.sync_job.id);
      await loaded.reload();
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };

  const save = async () => {
    setBusy(true);
    setError(null);
    setSaved(false);
    try {
      await projectsApi.patch(props.project.id, { label_column: column, label_type: kind });
      setSaved(true);
      await props.onSaved();
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="panel">
      {/* First: where the table comes from, what is wrong with it, and the actions that fix it. */}
      {state && (
        <Notice kind={state.state === "syncing" ? "info" : "warn"}>
          <span data-testid="table-state" data-state={state.state}>{state.reason}</span>
          {state.state === "csv_invalid" && (
            <span className="muted small"> "Upload a new CSV" replaces this file and synchronizes.</span>
          )}
        </Notice>
      )}
      {(loaded.data || loaded.error) && (
        <div className="table-source small" data-testid="table-source">
          <span className="csv-path">CSV: <span className="mono break" data-testid="table-csv-path">{csvPath || "none"}</span></span>
          {props.canWrite && datasetId && (
            <>
              <button
                className={state && state.state !== "syncing" ? "primary" : ""}
                onClick={() => void synchronize()} disabled={!!syncing || busy || state?.state === "syncing"} data-testid="table-sync"
              >
                {syncing ?? (state?.state === "syncing" ? "Synchronizing…" : "Synchronize")}
              </button>
              {csvPath && (
                <CsvReplace csvPath={csvPath} disabled={!!syncing || busy || state?.state === "syncing"} onReplaced={synchronize} />
              )}
            </>
          )}
          {state?.state === "syncing" && <button onClick={() => void loaded.reload()} data-testid="table-refresh">Refresh</button>}
        </div>
      )}
      <div className="toolbar wrap">
        <label className="inline-field">Label Column
          <select value={column} onChange={(e) => { setColumn(e.target.value); setSaved(false); }} disabled={!props.canWrite} data-testid="label-column-select">
            <option value="">— choose —</option>
            {columns.map((c) => (
              <option key={c.name} value={c.name} disabled={!c.valid} title={c.reason ?? undefined}>
                {c.name}{c.name !== c.key ? ` (${c.key})` : ""}{c.valid ? "" : ` (${c.reason ?? "invalid"})`}
              </option>
            ))}
          </select>
        </label>
        <label className="inline-field">Label Column Data Type
          <select value={kind} onChange={(e) => { setKind(e.target.value as "discrete" | "continuous"); setSaved(false); }} disabled={!props.canWrite} data-testid="label-type-select">
            <option value="discrete">Discrete value (classification)</option>
            <option value="continuous">Continuous value (regression)</option>
          </select>
        </label>
        {props.canWrite && (
          <button className="primary" disabled={!column || busy} onClick={save} data-testid="label-column-save">Save</button>
        )}
        {saved && <span className="ok small" data-testid="label-column-saved">Saved</span>}
        <span className="spacer" />
        <Link to="../train" className="button primary" data-testid="goto-train">Train ›</Link>
      </div>
      {hint && <Notice kind="warn">{hint} Training with a wrong type fails.</Notice>}
      <ErrorBox message={error} />
      <p className="muted small">
        The label column is what the model predicts; the other valid columns are its inputs. Discrete labels train a
        classifier (two values: a threshold curve; more: a confusion matrix); continuous ones a regressor (MAE, MSE, RMSE).
      </p>
      <ErrorBox message={preview.error} />
      {!loaded.data && !loaded.error && <Loading what="preview" />}
      {preview.data && (
        <>
          <div className="toolbar wrap small" data-testid="csv-dialect">
            <span>Separator: <b data-testid="csv-separator">{SEPARATORS[preview.data.dialect.delimiter] ?? preview.data.dialect.delimiter}</b></span>
            <span>
              Header row: <b data-testid="csv-header">{preview.data.dialect.has_header ? "yes" : "no"}</b>{" "}
              <span className="muted">({preview.data.dialect.header_source === "user" ? "set by you" : "detected"})</span>
            </span>
            {props.canWrite && (
              <label>
                <input
                  type="checkbox" checked={preview.data.dialect.has_header} disabled={busy}
                  onChange={(e) => void setHeader(e.target.checked)} data-testid="csv-header-toggle"
                />
                {" "}First row is a header
              </label>
            )}
            {props.canWrite && preview.data.dialect.header_source === "user" && (
              <button className="link" disabled={busy} onClick={() => void setHeader(null)} data-testid="csv-header-detect">Detect again</button>
            )}
          </div>
          <p className="muted small" data-testid="preview-row-count">
            {preview.data.stats.rows.toLocaleString()} rows ({preview.data.stats.valid_rows.toLocaleString()} valid); showing the first {preview.data.rows.length}.
          </p>
          <div className="table-scroll">
            <table className="table compact" data-testid="preview-table">
              <thead>
                <tr>
                  {columns.map((c) => (
                    <th key={c.name} className={`${c.name === column ? "label-col" : ""}${c.valid ? "" : " invalid-col"}`} title={c.reason ?? undefined}>
                      {c.name}
                      {c.name !== c.key && <span className="muted small"> {c.key}</span>}
                      <div className="muted small">{c.kind} · {c.distinct} distinct · {formatPercent(c.missing_share)} missing</div>
                      {!c.valid && <div className="field-error small">{c.reason}</div>}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {preview.data.rows.map((row, i) => (
                  <tr key={i}>
                    {row.map((v, j) => <td key={j} className={columns[j]?.name === column ? "label-col" : ""}>{v ?? ""}</td>)}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </div>
  );
}

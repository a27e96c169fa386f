import { useState } from "react";
import { assistApi } from "../../api/assist";
import type { Job } from "../../api/types";
import { ErrorBox, Loading } from "../../components/ui";
import { useLoad } from "../../lib/hooks";
import { summarizeResult } from "./batchResults";

const LIMIT = 20;

/** A succeeded batch prediction's first results (read back from storage) and the file to download. */
export function BatchResults({ job }: { job: Job }) {
  // A table batch writes one result file per input CSV: the user picks which one to read.
  const [file, setFile] = useState<string | undefined>(undefined);
  const data = useLoad(() => assistApi.batchResults(job.id, LIMIT, file), [job.id, file]);
  const r = data.data;
  return (
    <div className="batch-results" data-testid="batch-results">
      <ErrorBox message={data.error} />
      {!r && !data.error && <Loading what="results" />}
      {r && (
        <>
          <div className="toolbar wrap">
            <b>Results</b>
            <span className="muted small">
              {r.files ?? "?"} file{r.files === 1 ? "" : "s"}, {r.succeeded ?? 0} predicted{r.failed ? `, ${r.failed} failed` : ""}
              {r.truncated ? ` · the first ${r.rows.length} shown` : ""}
            </span>
            <span className="spacer" />
            {r.outputs.length > 1 && (
              <select value={file ?? r.outputs[0]} onChange={(e) => setFile(e.target.value)} data-testid="batch-output" aria-label="Result file">
                {r.outputs.map((name) => <option key={name} value={name}>{name}</option>)}
              </select>
            )}
            <a className="button" href={assistApi.batchDownloadUrl(job.id, file)} download={r.name} data-testid="batch-download">Download {r.name}</a>
          </div>
          <div className="table-scroll">
            {r.format === "csv" ? (
              <table className="table compact" data-testid="batch-results-table">
                <thead><tr>{(r.columns ?? []).map((c, i) => <th key={i}>{c}</th>)}</tr></thead>
                <tbody>
                  {r.rows.map((row, i) => (
                    <tr key={i} data-testid="batch-result-row">
                      {(row as string[]).map((cell, j) => <td key={j} className={j === (row as string[]).length - 1 ? "mono" : undefined}>{cell}</td>)}
                    </tr>
                  ))}
                </tbody>
              </table>
            ) : (
              <table className="table compact" data-testid="batch-results-table">
                <thead><tr><th>File</th><th>Prediction</th><th>Score</th></tr></thead>
                <tbody>
                  {r.rows.map((row, i) => {
                    const s = summarizeResult(Array.isArray(row) ? { raw: row.join(",") } : row);
                    return (
                      <tr key={i} data-testid="batch-result-row">
                        <td className="ellipsis" title={s.file}>{s.file}</td><td>{s.prediction}</td><td className="mono">{s.score}</td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            )}
          </div>
          {r.rows.length === 0 && <p className="muted small">The result file is empty.</p>}
        </>
      )}
    </div>
  );
}

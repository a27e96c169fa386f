import { useEffect, useRef, useState } from "react";
import { assistApi, type LabelIssue } from "../../api/assist";
import { errorText } from "../../api/client";
import type { Project } from "../../api/types";
import { Empty, ErrorBox, Loading } from "../../components/ui";
import { formatPercent } from "../../lib/format";
import { isTyping } from "../../lib/history";
import { useLoad } from "../../lib/hooks";
import { ModelJobStatus, useModelJob } from "./ModelJob";

const CHECKABLE = new Set(["image_classification", "text_classification", "sound_classification"]);
export const canCheckLabels = (type: string) => CHECKABLE.has(type);

/**
 * Suspected label errors: a scan job cross-validates the labelled samples; the samples whose
 * given label the model confidently disagrees with are listed, most suspicious first, with
 * one click to relabel to the suggested label (F) or to mark the label as checked (C).
 */
export function SuspectedErrors(props: { project: Project; datasetId: string; canWrite: boolean; onChanged: () => void }) {
  const { datasetId, project } = props;
  const issues = useLoad(() => assistApi.issues(datasetId, "open"), [datasetId]);
  const job = useModelJob(() => void issues.reload(), () => assistApi.latestJob("label_check", datasetId));
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [cursor, setCursor] = useState(0);
  const list = issues.data ?? [];
  const images = project.type === "image_classification";

  const resolve = async (issue: LabelIssue, action: "fix" | "checked") => {
    setBusy(issue.id);
    setError(null);
    try {
      await assistApi.resolve(datasetId, issue.id, action === "fix" ? { action, label: issue.suggested_label } : { action });
      // Take it off the list at once; the reload confirms.
      if (issues.data) issues.setData(issues.data.filter((i) => i.id !== issue.id));
      void issues.reload();
      props.onChanged();
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(null);
    }
  };

  const keyState = useRef({ list, cursor, resolve, canWrite: props.canWrite });
  keyState.current = { list, cursor, resolve, canWrite: props.canWrite };
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (isTyping(e.target) || e.ctrlKey || e.metaKey || e.altKey || document.querySelector(".modal-backdrop")) return;
      const { list, cursor, resolve, canWrite } = keyState.current;
      const at = Math.min(cursor, list.length - 1);
      const k = e.key.toLowerCase();
      if (k === "j" || e.key === "ArrowDown") { e.preventDefault(); setCursor(Math.min(at + 1, list.length - 1)); }
      else if (k === "k" || e.key === "ArrowUp") { e.preventDefault(); setCursor(Math.max(at - 1, 0)); }
      else if ((k === "f" || k === "c") && canWrite && list[at]) { e.preventDefault(); void resolve(list[at], k === "f" ? "fix" : "checked"); }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);

  return (
    <div className="suspected" data-testid="suspected-errors">
      <div className="toolbar wrap">
        {props.canWrite && (
          <button className="primary" disabled={job.running} onClick={() => void job.start(() => assistApi.scan(datasetId))} data-testid="issues-scan">
            {job.running ? "Scanning…" : list.length ? "Scan again" : "Scan for label errors"}
          </button>
        )}
        <span className="muted small">Cross-validates the labelled samples and lists those whose label the model confidently disagrees with. F fixes, C marks checked, J/K move.</span>
      </div>
      <ModelJobStatus state={job} what="The label check" testId="issues-job" />
      <ErrorBox message={issues.error} />
      <ErrorBox message={error} />
      {!issues.data && !issues.error && <Loading what="suspected errors" />}
      {issues.data && list.length === 0 && <Empty>No suspected label errors{job.job?.status === "succeeded" ? " found." : " yet. Run a scan."}</Empty>}
      {list.length > 0 && (
        <table className="table compact issue-table" data-testid="issue-list">
          <thead>
            <tr><th>#</th><th>Sample</th><th>Given</th><th></th><th>Suggested</th><th></th></tr>
          </thead>
          <tbody>
            {list.map((issue, i) => (
              <tr key={issue.id} className={i === Math.min(cursor, list.length - 1) ? "cursor" : ""} onClick={() => setCursor(i)}
                data-testid="issue-row" data-sample-id={issue.sample.id} data-given={issue.given_label} data-suggested={issue.suggested_label}>
                <td>{issue.rank}</td>
                <td className="issue-sample">
                  {images && <img className="issue-thumb" loading="lazy" alt="" src={`/api/v1/datasets/${datasetId}/samples/${issue.sample.id}/content`} />}
                  <span className="ellipsis small" title={issue.sample.name}>{issue.sample.text || issue.sample.name}</span>
                </td>
                <td><b>{issue.given_label}</b> <span className="muted small">{formatPercent(issue.given_probability)}</span></td>
                <td className="muted">→</td>
                <td><b>{issue.suggested_label}</b> <span className="muted small">{formatPercent(issue.suggested_probability)}</span></td>
                <td className="row-actions">
                  {props.canWrite && (
                    <>
                      <button className="small primary" disabled={busy === issue.id} onClick={() => void resolve(issue, "fix")} data-testid="issue-fix">
                        Fix → {issue.suggested_label}
                      </button>
                      <button className="small" disabled={busy === issue.id} onClick={() => void resolve(issue, "checked")} data-testid="issue-checked">Mark checked</button>
                    </>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

import { useEffect, useRef, useState, type DragEvent } from "react";
import { errorText } from "../../api/client";
import { datasetsApi, isJob, waitForJob } from "../../api/datasets";
import type { Job, ProjectType, UploadResult } from "../../api/types";
import { ErrorBox, Modal, ProgressBar } from "../../components/ui";
import { checkFile, formatBytes, planBatches, uploadRules } from "../../lib/upload";
import { importAnswer, importStatus } from "./uploadJob";

interface Picked {
  file: File;
  problem: string | null;
}

/** ``initialFiles`` (files dropped on the labeling page) are checked and uploaded at once. */
export function UploadDialog(props: {
  datasetId: string; type: ProjectType; onClose: () => void; onUploaded: () => void; initialFiles?: File[];
}) {
  const rules = uploadRules(props.type);
  const [picked, setPicked] = useState<Picked[]>(() => (props.initialFiles ?? []).map((file) => ({ file, problem: checkFile(file, rules) })));
  const [dragging, setDragging] = useState(false);
  const [progress, setProgress] = useState<number | null>(null);
  const [result, setResult] = useState<UploadResult | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [importing, setImporting] = useState<Job | null>(null);

  const cancelImport = async () => {
    if (!importing) return;
    try {
      setImporting(await datasetsApi.cancelJob(importing.id));
    } catch (err) {
      setError(errorText(err));  // 409: it ended meanwhile; the dialog shows its answer
    }
  };

  const add = (files: FileList | File[]) => {
    const next = [...files].map((file) => ({ file, problem: checkFile(file, rules) }));
    setPicked((old) => {
      const names = new Set(next.map((p) => p.file.name));
      return [...old.filter((p) => !names.has(p.file.name)), ...next];
    });
    setResult(null);
  };

  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    setDragging(false);
    add(e.dataTransfer.files);
  };

  const ok = picked.filter((p) => !p.problem).map((p) => p.file);
  const upload = async (list: Picked[] = picked) => {
    setError(null);
    const good = list.filter((p) => !p.problem).map((p) => p.file);
    const batches = planBatches(good, rules.maxRequestBytes);
    const total: UploadResult = { accepted: [], rejected: list.filter((p) => p.problem).map((p) => ({ file: p.file.name, reason: p.problem! })) };
    setProgress(0);
    try {
      for (let i = 0; i < batches.length; i++) {
        // Bytes sent of this request (XHR progress), as its share of all the requests.
        const r = await datasetsApi.upload(props.datasetId, batches[i], (sent, size) => setProgress((i + (size ? sent / size : 0) * 0.1) / batches.length));
        if (isJob(r)) {
          // A larger upload: stored, and imported by a worker. Follow its job (progress, time
          // left, cancel), then list its files as the job's answer has them.
          setImporting(r);
          const job = await waitForJob(r.id, (j) => {
            setImporting(j);
            setProgress((i + 0.1 + 0.9 * j.progress) / batches.length);
          }, { timeoutMs: 60 * 60_000 });
          setImporting(null);
          const answer = importAnswer(job, batches[i].map((f) => f.name));
          total.accepted.push(...answer.accepted);
          total.rejected.push(...answer.rejected);
        } else {
          total.accepted.push(...(r?.accepted ?? []));
          total.rejected.push(...(r?.rejected ?? []));
        }
        setProgress((i + 1) / batches.length);
      }
      setPicked([]);
      props.onUploaded();
    } catch (err) {
      setError(errorText(err));
    } finally {
      setResult(total);
      setProgress(null);
      setImporting(null);
    }
  };

  // Dropped files go at once: the drop was the user's "upload these".
  const started = useRef(false);
  useEffect(() => {
    if (started.current || !props.initialFiles?.length) return;
    started.current = true;
    if (picked.some((p) => !p.problem)) void upload(picked);
    else setResult({ accepted: [], rejected: picked.map((p) => ({ file: p.file.name, reason: p.problem! })) });
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  return (
    <Modal
      title="Add files"
      onClose={props.onClose}
      wide
      testId="upload-dialog"
      footer={
        <>
          <button onClick={props.onClose}>Close</button>
          <button className="primary" disabled={!ok.length || progress !== null} onClick={() => void upload()} data-testid="upload-submit">
            Upload {ok.length ? `${ok.length} file${ok.length > 1 ? "s" : ""}` : ""}
          </button>
        </>
      }
    >
      <ul className="rules" data-testid="upload-limits">
        <li>Types: {rules.extensions.join(", ")}</li>
        <li>At most {formatBytes(rules.maxFileBytes)} per file and {formatBytes(rules.maxRequestBytes)} per upload request (larger selections are sent in several requests).</li>
        <li>File names without Chinese characters, +, spaces or tabs. Damaged files are rejected.</li>
        <li>Larger uploads are imported in the background: follow (or cancel) the import here; each refused file is listed with its reason, and nothing of a refused file is kept.</li>
      </ul>
      <label
        className={`dropzone${dragging ? " over" : ""}`}
        onDragOver={(e) => { e.preventDefault(); setDragging(true); }}
        onDragLeave={() => setDragging(false)}
        onDrop={onDrop}
        data-testid="upload-dropzone"
      >
        <input type="file" multiple accept={rules.accept} onChange={(e) => e.target.files && add(e.target.files)} data-testid="upload-input" />
        <span>Drop files here or <u>choose files</u></span>
      </label>
      {picked.length > 0 && (
        <ul className="file-list" data-testid="upload-files">
          {picked.map((p) => (
            <li key={p.file.name} className={p.problem ? "bad" : ""}>
              <span className="mono">{p.file.name}</span> <span className="muted">{formatBytes(p.file.size)}</span>
              {p.problem && <span className="field-error"> {p.problem}</span>}
              <button className="icon" aria-label="Remove" onClick={() => setPicked((l) => l.filter((x) => x !== p))}>×</button>
            </li>
          ))}
        </ul>
      )}
      {progress !== null && <ProgressBar value={progress} testId="upload-progress" />}
      {importing && (
        <p className="muted" data-testid="upload-import">
          {importStatus(importing)}{" "}
          {(importing.status === "queued" || importing.status === "running") && !importing.cancel_requested && (
            <button className="link" onClick={() => void cancelImport()} data-testid="upload-import-cancel">Cancel import</button>
          )}
        </p>
      )}
      <ErrorBox message={error} />
      {result && (
        <div data-testid="upload-results">
          <p>{result.accepted.length} accepted, {result.rejected.length} rejected.</p>
          {result.rejected.length > 0 && (
            <ul className="errors-list">
              {result.rejected.map((r) => <li key={r.file}><span className="mono">{r.file}</span>: {r.reason}</li>)}
            </ul>
          )}
        </div>
      )}
    </Modal>
  );
}

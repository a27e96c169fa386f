import { useState, type DragEvent } from "react";
import { errorText } from "../../api/client";
import { storageApi } from "../../api/resources";
import { ProgressBar } from "../../components/ui";
import {
  STORAGE_UPLOAD, checkStorageFile, formatBytes, planFileUploads, storageTarget, uploadTotals, type FileUpload,
} from "../../lib/upload";

/**
 * "Upload files" in the storage picker: puts files into the folder shown, one request per
 * file with its progress; each refused file is listed with the reason (the browser's check
 * first, then the API's).
 */
export function StorageUpload(props: { folder: string; onUploaded: (paths: string[]) => void }) {
  const [items, setItems] = useState<FileUpload[]>([]);
  const [overwrite, setOverwrite] = useState(false);
  const [busy, setBusy] = useState(false);
  const [dragging, setDragging] = useState(false);

  const send = async (files: File[]) => {
    if (busy || !files.length) return;
    const plan = planFileUploads(files, (f) => checkStorageFile(f));
    setItems(plan);
    setBusy(true);
    const update = (i: number, change: Partial<FileUpload>) =>
      setItems((old) => old.map((it, j) => (j === i ? { ...it, ...change } : it)));
    const stored: string[] = [];
    for (let i = 0; i < files.length; i++) {
      if (plan[i].status === "refused") continue;
      update(i, { status: "uploading" });
      try {
        const target = storageTarget(props.folder, files[i].name);
        const put = await storageApi.putObject(target, files[i], overwrite, (sent) => update(i, { sent }));
        stored.push(put.path);
        update(i, { status: "done", sent: files[i].size });
      } catch (err) {
        update(i, { status: "refused", reason: errorText(err).replace(/^(path|file): /, "") });
      }
    }
    setBusy(false);
    if (stored.length) props.onUploaded(stored);
  };

  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    setDragging(false);
    void send([...e.dataTransfer.files]);
  };
  const totals = uploadTotals(items);
  return (
    <div
      className={`storage-upload${dragging ? " over" : ""}`}
      onDragOver={(e) => { if (e.dataTransfer.types.includes("Files")) { e.preventDefault(); setDragging(true); } }}
      onDragLeave={() => setDragging(false)}
      onDrop={onDrop}
      data-testid="storage-upload"
    >
      <div className="toolbar">
        <label className={`button${busy ? " disabled" : ""}`}>
          Upload files
          <input
            type="file" multiple accept={STORAGE_UPLOAD.accept} hidden disabled={busy}
            onChange={(e) => { const files = [...(e.target.files ?? [])]; e.target.value = ""; void send(files); }}
            data-testid="storage-upload-input"
          />
        </label>
        <label className="small">
          <input type="checkbox" checked={overwrite} onChange={(e) => setOverwrite(e.target.checked)} data-testid="storage-upload-overwrite" />
          {" "}Replace files of the same name
        </label>
        <span className="muted small">CSV files, at most {formatBytes(STORAGE_UPLOAD.maxFileBytes)} each, into this folder (or drop them here).</span>
      </div>
      {items.length > 0 && (
        <>
          {busy && <ProgressBar value={totals.progress} testId="storage-upload-progress" />}
          <p className="small" data-testid="storage-upload-summary">
            {totals.done} uploaded{totals.refused ? `, ${totals.refused} refused` : ""}{totals.pending ? `, ${totals.pending} to go` : ""}.
          </p>
          <ul className="file-list" data-testid="storage-upload-files">
            {items.map((it, i) => (
              <li key={`${i}-${it.name}`} className={it.status === "refused" ? "bad" : ""} data-status={it.status}>
                <span className="mono">{it.name}</span> <span className="muted">{formatBytes(it.size)}</span>
                {it.status === "uploading" && <span className="muted"> {Math.round((100 * it.sent) / (it.size || 1))}%</span>}
                {it.status === "done" && <span className="ok"> uploaded</span>}
                {it.reason && <span className="field-error"> {it.reason}</span>}
              </li>
            ))}
          </ul>
        </>
      )}
    </div>
  );
}

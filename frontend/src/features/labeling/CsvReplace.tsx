import { useState } from "react";
import { errorText } from "../../api/client";
import { storageApi } from "../../api/resources";
import { ErrorBox, ProgressBar } from "../../components/ui";
import { STORAGE_UPLOAD, checkReplacementCsv, formatBytes, storageBaseName } from "../../lib/upload";

/**
 * "Upload a new CSV" for a predictive-analytics dataset: the chosen file replaces the dataset's
 * CSV in storage (POST /storage/objects at the CSV's own path, overwrite), with its progress;
 * then onReplaced runs (the callers synchronize, so the new file is profiled). A refused file
 * is named with the reason, inline or through onError.
 */
export function CsvReplace(props: {
  csvPath: string;
  disabled?: boolean;
  onReplaced: () => Promise<void> | void;
  onError?: (message: string | null) => void;
  link?: boolean;
  testId?: string;
}) {
  const id = props.testId ?? "csv-upload";
  const [progress, setProgress] = useState<number | null>(null);
  const [error, setErrorState] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const setError = (message: string | null) => (props.onError ? props.onError(message) : setErrorState(message));
  const busy = progress !== null;
  const target = storageBaseName(props.csvPath);

  const send = async (file: File | undefined) => {
    if (!file || busy) return;
    setError(null);
    setDone(null);
    const reason = checkReplacementCsv(file);
    if (reason) {
      setError(`${file.name}: ${reason}`);
      return;
    }
    setProgress(0);
    try {
      await storageApi.putObject(props.csvPath, file, true, (sent, total) => setProgress(total ? sent / total : 0));
    } catch (err) {
      setError(`${file.name}: ${errorText(err).replace(/^(path|file): /, "")}`);
      return;
    } finally {
      setProgress(null);
    }
    setDone(file.name === target ? `${file.name} uploaded` : `${file.name} uploaded as ${target}`);
    await props.onReplaced();
  };

  const off = busy || !!props.disabled;
  return (
    <span className="csv-replace" data-testid={id}>
      <label
        className={`${props.link ? "link-button" : "button"}${off ? " disabled" : ""}`}
        title={`Replaces ${props.csvPath} (at most ${formatBytes(STORAGE_UPLOAD.maxFileBytes)}), then synchronizes`}
      >
        {busy ? `Uploading… ${Math.round((progress ?? 0) * 100)}%` : "Upload a new CSV"}
        <input
          type="file" accept={STORAGE_UPLOAD.accept} hidden disabled={off}
          onChange={(e) => { const file = e.target.files?.[0]; e.target.value = ""; void send(file); }}
          data-testid={`${id}-input`}
        />
      </label>
      {busy && <ProgressBar value={progress ?? 0} testId={`${id}-progress`} />}
      {done && !props.link && <span className="ok small" data-testid={`${id}-done`}>{done}</span>}
      {!props.onError && <ErrorBox message={error} />}
    </span>
  );
}

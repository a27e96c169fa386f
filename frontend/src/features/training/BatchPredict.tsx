import { useState } from "react";
import { assistApi } from "../../api/assist";
import type { ModelVersion, Project } from "../../api/types";
import { CopyButton } from "../../components/ui";
import { PathInput } from "../projects/StoragePicker";
import { batchOutput } from "../labeling/assistLogic";
import { ModelJobStatus, useModelJob } from "../labeling/ModelJob";
import { useLoad } from "../../lib/hooks";
import { BatchResults } from "./BatchResults";

/**
 * Batch prediction with a completed version: a storage folder (or a CSV of rows for tables)
 * in, results written to a folder of the tenant's storage; progress, Cancel, per-file errors.
 */
export function BatchPredict({ project, version }: { project: Project; version: ModelVersion }) {
  const table = project.type === "predictive_analytics";
  const [input, setInput] = useState("");
  const [output, setOutput] = useState("");
  const [open, setOpen] = useState(false);
  const job = useModelJob(() => undefined, () => assistApi.latestJob("batch_prediction", version.id));
  // The newest batch prediction of this version: its results stay readable after a reload.
  const latest = useLoad(() => (open ? assistApi.latestJob("batch_prediction", version.id) : Promise.resolve(null)), [open, version.id]);
  const shown = job.job ?? latest.data ?? null;
  const done = shown?.status === "succeeded" ? batchOutput(shown.result) : null;
  const what = table ? "a CSV of rows without the label column" : project.type === "text_classification" ? "a folder of TXT/CSV files of texts"
    : project.type === "sound_classification" ? "a folder of WAV files" : "a folder of images";

  if (!open) {
    return (
      <section className="panel">
        <button onClick={() => setOpen(true)} data-testid="batch-open">Batch prediction…</button>
        <span className="muted small"> Run {version.name} over {what} in storage and write the results to another folder.</span>
      </section>
    );
  }
  return (
    <section className="panel batch-predict" data-testid="batch-predict">
      <h3>Batch prediction with {version.name}</h3>
      <p className="muted small">Input: {what}. Output: {table ? "<name>_predictions.csv for each CSV, its header and separator kept, prediction columns added" : "results.jsonl, one line per file"} in the output folder.</p>
      <div className="field-row">
        <span>Input</span>
        <PathInput value={input} onChange={setInput} mode={table ? "csv" : "folder"} testId="batch-input" />
      </div>
      <div className="field-row">
        <span>Output folder</span>
        <PathInput value={output} onChange={setOutput} mode="folder" testId="batch-output" />
      </div>
      <div className="toolbar">
        <button className="primary" disabled={!input.trim() || !output.trim() || job.running}
          onClick={() => void job.start(() => assistApi.batchPredict(project.id, version.name, { input_path: input.trim(), output_path: output.trim() }))}
          data-testid="batch-start">
          {job.running ? "Predicting…" : "Start"}
        </button>
        <button onClick={() => setOpen(false)} disabled={job.running}>Close</button>
      </div>
      <ModelJobStatus state={job} what="Batch prediction" unit="files" testId="batch-job" />
      {done && shown && (
        <>
          <p className="small" data-testid="batch-result">
            {shown !== job.job && <span className="muted">Last batch prediction: </span>}
            Results: <span className="mono" data-testid="batch-result-path">{done}</span> <CopyButton text={done} />
          </p>
          <BatchResults key={shown.id} job={shown} />
        </>
      )}
    </section>
  );
}

import { useMemo, useState, type FormEvent } from "react";
import { Link, Navigate, useNavigate, useParams } from "react-router-dom";
import { errorText } from "../../api/client";
import { datasetsApi } from "../../api/datasets";
import { projectsApi } from "../../api/projects";
import type { ProjectCreate, ProjectType } from "../../api/types";
import { ErrorBox, Field } from "../../components/ui";
import { PROJECT_TYPES, typeTitle } from "../../lib/format";
import { clearSessionState, useLoad, useSessionState } from "../../lib/hooks";
import {
  labelsNeedColor, validateCsvPath, validateDatasetName, validateLabelSet, validateOutputPath, validateProjectName,
  validateStoragePath, type LabelRow,
} from "../../lib/validation";
import { PathInput } from "./StoragePicker";

const WIZARD_KEY = "exeml:wizard:";

export const PALETTE = ["#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6", "#bfef45", "#469990", "#9a6324"];

export function CreateProjectPage() {
  const { type: rawType } = useParams();
  const type = PROJECT_TYPES.find((t) => t.type === rawType)?.type;
  if (!type) return <Navigate to="/exeml" replace />;
  return <CreateProjectForm key={type} type={type} />;
}

function CreateProjectForm({ type }: { type: ProjectType }) {
  const navigate = useNavigate();
  const predictive = type === "predictive_analytics";
  const needColor = labelsNeedColor(type);
  // What was typed survives a reload of the tab (sessionStorage), per project type.
  const k = (field: string) => `${WIZARD_KEY}${type}:${field}`;
  const [name, setName] = useSessionState(k("name"), "");
  const [description, setDescription] = useSessionState(k("description"), "");
  const [source, setSource] = useSessionState<"create" | "specify">(k("source"), "create");
  // Image classification: one label per image (a label key replaces it) or several (keys toggle).
  const [multiLabel, setMultiLabel] = useSessionState(k("multiLabel"), false);
  const [datasetName, setDatasetName] = useSessionState(k("datasetName"), "");
  const [inputPath, setInputPath] = useSessionState(k("inputPath"), "");
  const [outputPath, setOutputPath] = useSessionState(k("outputPath"), "");
  const [datasetId, setDatasetId] = useSessionState(k("datasetId"), "");
  const [trainingData, setTrainingData] = useSessionState(k("trainingData"), "");
  const [labels, setLabels] = useSessionState<LabelRow[]>(k("labels"), [{ name: "", color: PALETTE[0] }]);
  const [touched, setTouched] = useState<Record<string, boolean>>({});
  const [submitted, setSubmitted] = useState(false);
  const [busy, setBusy] = useState(false);
  const [serverError, setServerError] = useState<string | null>(null);

  // Only datasets of the same type may be specified.
  const datasets = useLoad(
    async () => (predictive ? [] : (await datasetsApi.list({ type, page_size: 100 })).results.filter((d) => d.type === type)),
    [type],
  );

  const touch = (field: string) => setTouched((t) => (t[field] ? t : { ...t, [field]: true }));
  const show = (field: string, error: string | null) => (touched[field] || submitted ? error : null);

  // Blank label rows are ignored (a label set may be empty); filled ones must be valid.
  const filledLabels = labels.filter((l) => l.name.trim() !== "");
  const labelErrors = validateLabelSet(labels.map((l) => ({ ...l, name: l.name.trim() })), needColor).map((e, i) =>
    labels[i].name.trim() === "" ? null : e,
  );

  const errors = useMemo(() => {
    const e: Record<string, string | null> = { name: validateProjectName(name) };
    if (predictive) {
      e.trainingData = validateCsvPath(trainingData);
    } else if (source === "create") {
      e.datasetName = validateDatasetName(datasetName);
      e.inputPath = validateStoragePath(inputPath);
      e.outputPath = validateOutputPath(inputPath, outputPath);
    } else {
      e.datasetId = datasetId ? null : "Choose a dataset.";
    }
    return e;
  }, [name, predictive, trainingData, source, datasetName, inputPath, outputPath, datasetId]);

  const valid =
    Object.values(errors).every((e) => !e) && (predictive || source === "specify" || labelErrors.every((e) => !e));

  const submit = async (ev: FormEvent) => {
    ev.preventDefault();
    setSubmitted(true);
    if (!valid) return;
    const body: ProjectCreate = { name, description, type };
    if (type === "image_classification") body.multi_label = multiLabel;
    if (predictive) body.training_data = trainingData.trim();
    else if (source === "specify") body.dataset = { source: "specify", id: datasetId };
    else
      body.dataset = {
        source: "create",
        name: datasetName,
        input_path: inputPath.trim(),
        output_path: outputPath.trim(),
        labels: filledLabels.map((l) => (needColor ? { name: l.name.trim(), color: l.color } : { name: l.name.trim() })),
      };
    setBusy(true);
    setServerError(null);
    try {
      const project = await projectsApi.create(body);
      clearSessionState(`${WIZARD_KEY}${type}:`);
      navigate(`/projects/${project.id}/label`);
    } catch (err) {
      setServerError(errorText(err));
      setBusy(false);
    }
  };

  const setLabel = (i: number, patch: Partial<LabelRow>) => {
    touch(`label-${i}`);
    setLabels((rows) => rows.map((r, j) => (j === i ? { ...r, ...patch } : r)));
  };

  return (
    <div className="page narrow">
      <div className="crumbs"><Link to="/exeml">ExeML</Link> / Create {typeTitle(type)} project</div>
      <h1>Create project — {typeTitle(type)}</h1>
      <form className="panel form" onSubmit={submit} noValidate data-testid="create-project-form">
        <Field label="Name" required error={show("name", errors.name)} hint="1–20 letters, digits, _ or -, starting with a letter.">
          <input value={name} maxLength={40} onChange={(e) => { setName(e.target.value); touch("name"); }} data-testid="wizard-name" />
        </Field>
        <Field label="Description">
          <textarea rows={2} value={description} onChange={(e) => setDescription(e.target.value)} data-testid="wizard-description" />
        </Field>

        {type === "image_classification" && (
          <div className="field">
            <span className="field-label">Labels per image</span>
            <div className="segmented" role="radiogroup">
              <label><input type="radio" checked={!multiLabel} onChange={() => setMultiLabel(false)} data-testid="wizard-single-label" /> One (single-label)</label>
              <label><input type="radio" checked={multiLabel} onChange={() => setMultiLabel(true)} data-testid="wizard-multi-label" /> Several (multi-label)</label>
            </div>
            <span className="muted small">
              {multiLabel ? "An image may carry several labels; a label key adds or removes that label." : "Each image carries one label; a label key replaces it."}
            </span>
          </div>
        )}
        {type === "sound_classification" && <p className="muted small" data-testid="wizard-label-mode">Each clip carries one label (single-label).</p>}

        {predictive ? (
          <Field label="Training Data" required error={show("trainingData", errors.trainingData)} hint="A CSV file inside a folder (not the bucket root); one project per CSV path.">
            <PathInput mode="csv" value={trainingData} onChange={(v) => { setTrainingData(v); touch("trainingData"); }} testId="wizard-training-data" placeholder="s3://bucket/folder/data.csv" />
          </Field>
        ) : (
          <>
            <div className="field">
              <span className="field-label">Dataset Source</span>
              <div className="segmented" role="radiogroup">
                <label><input type="radio" checked={source === "create"} onChange={() => setSource("create")} data-testid="wizard-source-create" /> Create</label>
                <label><input type="radio" checked={source === "specify"} onChange={() => setSource("specify")} data-testid="wizard-source-specify" /> Specify existing</label>
              </div>
            </div>

            {source === "specify" ? (
              <Field label="Dataset" required error={show("datasetId", errors.datasetId)} hint={`Only ${typeTitle(type)} datasets are offered.`}>
                <select value={datasetId} onChange={(e) => { setDatasetId(e.target.value); touch("datasetId"); }} data-testid="wizard-dataset-select">
                  <option value="">— choose —</option>
                  {datasets.data?.map((d) => <option key={d.id} value={d.id}>{d.name} ({d.sample_count} samples)</option>)}
                </select>
              </Field>
            ) : (
              <>
                <Field label="Dataset Name" required error={show("datasetName", errors.datasetName)}>
                  <input value={datasetName} onChange={(e) => { setDatasetName(e.target.value); touch("datasetName"); }} data-testid="wizard-dataset-name" />
                </Field>
                <Field label="Input Dataset Path" required error={show("inputPath", errors.inputPath)} hint="The folder holding the data; nothing else should be in it.">
                  <PathInput mode="folder" value={inputPath} onChange={(v) => { setInputPath(v); touch("inputPath"); }} testId="wizard-input-path" />
                </Field>
                <Field label="Output Dataset Path" required error={show("outputPath", errors.outputPath)} hint="Preferably an empty folder; not the input folder nor inside it.">
                  <PathInput mode="folder" value={outputPath} onChange={(v) => { setOutputPath(v); touch("outputPath"); }} testId="wizard-output-path" />
                </Field>
                <div className="field">
                  <span className="field-label">Label Set {needColor && <span className="muted small">(colors required)</span>}</span>
                  {labels.map((row, i) => (
                    <div key={i} className="label-row">
                      <input placeholder="Label name" value={row.name} onChange={(e) => setLabel(i, { name: e.target.value })} data-testid={`wizard-label-name-${i}`} />
                      {needColor && (
                        <input type="color" value={row.color} onChange={(e) => setLabel(i, { color: e.target.value })} data-testid={`wizard-label-color-${i}`} title="Label color" />
                      )}
                      <button type="button" className="icon" aria-label="Remove label" onClick={() => setLabels((rows) => rows.filter((_, j) => j !== i))} data-testid={`wizard-label-remove-${i}`}>×</button>
                      {(touched[`label-${i}`] || submitted) && labelErrors[i] && <span className="field-error">{labelErrors[i]}</span>}
                    </div>
                  ))}
                  <button type="button" className="link" onClick={() => setLabels((rows) => [...rows, { name: "", color: PALETTE[rows.length % PALETTE.length] }])} data-testid="wizard-add-label">
                    + Add Label
                  </button>
                  <span className="field-hint">1–32 characters: letters (Chinese included), digits, _ and -.</span>
                </div>
              </>
            )}
          </>
        )}

        <ErrorBox message={serverError} />
        <div className="form-actions">
          <Link to="/exeml" className="button">Cancel</Link>
          <button className="primary" type="submit" disabled={busy || (submitted && !valid)} data-testid="wizard-create">
            {busy ? "Creating…" : "Create Project"}
          </button>
        </div>
      </form>
    </div>
  );
}

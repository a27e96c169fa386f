import { useMemo, useState } from "react";
import { errorText } from "../../api/client";
import { flavorLabel, trainingApi } from "../../api/training";
import type { ModelVersion, Project, TrainRequest } from "../../api/types";
import { ErrorBox, Field, Modal, Notice } from "../../components/ui";
import { useLoad } from "../../lib/hooks";
import { validateRange } from "../../lib/validation";

export const TRAIN_DEFAULTS = { train_ratio: 0.8, max_minutes: 60, preference: "balance" as const };

const PREFERENCES: { value: TrainRequest["preference"]; label: string; hint: string }[] = [
  { value: "performance_first", label: "Performance first", hint: "Short training, small fast model." },
  { value: "balance", label: "Balance", hint: "Balanced speed and accuracy." },
  { value: "accuracy_first", label: "Accuracy first", hint: "Long training, larger more accurate model." },
];

const INCREMENTAL_TYPES = new Set(["image_classification", "object_detection", "sound_classification"]);

export function TrainDialog(props: { project: Project; versions: ModelVersion[]; onClose: () => void; onStarted: (v: ModelVersion) => void }) {
  const flavors = useLoad(() => trainingApi.flavors(), []);
  const usable = useMemo(
    () => (flavors.data ?? []).filter((f) => f.purpose === "train" && (!f.task_types?.length || f.task_types.includes(props.project.type))),
    [flavors.data, props.project.type],
  );
  const [versionName, setVersionName] = useState("");
  const [ratio, setRatio] = useState(String(TRAIN_DEFAULTS.train_ratio));
  const [incremental, setIncremental] = useState("");
  const [minutes, setMinutes] = useState(String(TRAIN_DEFAULTS.max_minutes));
  const [preference, setPreference] = useState<TrainRequest["preference"]>(TRAIN_DEFAULTS.preference);
  const [flavorCode, setFlavorCode] = useState("");
  const [agreed, setAgreed] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const flavor = usable.find((f) => f.code === flavorCode) ?? usable[0];
  const ratioNum = Number(ratio);
  const ratioError = ratio.trim() === "" ? "Enter a ratio." : validateRange(ratioNum, 0, 1) ?? (ratioNum <= 0 || ratioNum >= 1 ? "Between 0 and 1 (exclusive)." : null);
  const minutesError = validateRange(Number(minutes), 6, 6000, true);
  const nameError = versionName && !/^[A-Za-z0-9_-]{1,32}$/.test(versionName) ? "1–32 letters, digits, _ or -." : null;
  const finished = props.versions.filter((v) => v.status === "completed");
  const canIncrement = INCREMENTAL_TYPES.has(props.project.type);
  const needsAgreement = !!flavor?.free;
  const valid = !ratioError && !minutesError && !nameError && !!flavor && (!needsAgreement || agreed);

  const submit = async () => {
    if (!flavor) return;
    setBusy(true);
    setError(null);
    try {
      const body: TrainRequest = { train_ratio: ratioNum, max_minutes: Number(minutes), preference, flavor: flavor.code };
      if (versionName) body.dataset_version = versionName;
      if (incremental) body.incremental_from = incremental;
      props.onStarted(await trainingApi.train(props.project.id, body));
    } catch (err) {
      setError(errorText(err));
      setBusy(false);
    }
  };

  return (
    <Modal
      title="Training configuration"
      onClose={props.onClose}
      testId="train-dialog"
      footer={
        <>
          <button onClick={props.onClose}>Cancel</button>
          <button className="primary" disabled={!valid || busy} onClick={submit} data-testid="train-submit">{busy ? "Submitting…" : "Submit"}</button>
        </>
      }
    >
      <Field label="Dataset version" error={nameError} hint="Leave empty for an automatic name; the labeled data is published as this version.">
        <input value={versionName} placeholder="automatic" onChange={(e) => setVersionName(e.target.value)} data-testid="train-dataset-version" />
      </Field>
      <Field label="Training / validation ratio" error={ratioError} hint="Share of labeled samples used for training; the rest validates. Default 0.8.">
        <input type="number" step="0.05" min={0} max={1} value={ratio} onChange={(e) => setRatio(e.target.value)} data-testid="train-ratio" />
      </Field>
      {canIncrement && (
        <Field label="Incremental training version" hint="Start from a finished version to converge faster. Default: none.">
          <select value={incremental} onChange={(e) => setIncremental(e.target.value)} data-testid="train-incremental">
            <option value="">None</option>
            {finished.map((v) => <option key={v.id} value={v.id}>{v.name}</option>)}
          </select>
        </Field>
      )}
      <Field label="Max training duration (minutes)" error={minutesError} hint="6–6000, default 60. When reached, the best model so far is kept.">
        <input type="number" min={6} max={6000} step={1} value={minutes} onChange={(e) => setMinutes(e.target.value)} data-testid="train-max-minutes" />
      </Field>
      <div className="field">
        <span className="field-label">Training preference</span>
        {PREFERENCES.map((p) => (
          <label key={p.value} className="radio-line">
            <input type="radio" name="preference" checked={preference === p.value} onChange={() => setPreference(p.value)} data-testid={`train-preference-${p.value}`} />
            <b>{p.label}</b> <span className="muted small">{p.hint}</span>
          </label>
        ))}
      </div>
      <Field label="Instance flavor" error={flavors.data && !usable.length ? "No training flavor is available for this project type." : flavors.error}>
        <select value={flavor?.code ?? ""} onChange={(e) => { setFlavorCode(e.target.value); setAgreed(false); }} data-testid="train-flavor">
          {usable.map((f) => (
            <option key={f.code} value={f.code}>{flavorLabel(f)}</option>
          ))}
        </select>
      </Field>
      {props.project.type === "predictive_analytics" && <p className="muted small">Predictive analytics trains on CPU flavors only.</p>}
      {flavor?.free && (
        <Notice kind="warn">
          The free flavor stops each job after {flavor.max_minutes ?? 60} minutes and jobs wait their turn in a queue.
          <label className="radio-line">
            <input type="checkbox" checked={agreed} onChange={(e) => setAgreed(e.target.checked)} data-testid="train-free-agree" /> I have read and agree to the above.
          </label>
        </Notice>
      )}
      {flavor?.max_minutes && Number(minutes) > flavor.max_minutes && (
        <Notice kind="warn">This flavor caps a job at {flavor.max_minutes} minutes.</Notice>
      )}
      <ErrorBox message={error} />
    </Modal>
  );
}

import { useMemo, useState } from "react";
import { errorText } from "../../api/client";
import { servingApi } from "../../api/serving";
import { flavorLabel, trainingApi } from "../../api/training";
import type { ModelVersion, Project, Service } from "../../api/types";
import { ErrorBox, Field, Modal, Notice } from "../../components/ui";
import { useLoad } from "../../lib/hooks";
import { AUTO_STOP_CHOICES, IDLE_MINUTES_RANGE, autoStopHours, idleMinutes, type AutoStopChoice } from "./autoStop";

/** Deploy a completed version as a real-time service; auto stop is on, 1 hour, by default. */
export function DeployDialog(props: {
  project: Project;
  version?: ModelVersion;
  versions?: ModelVersion[];
  onClose: () => void;
  onDeployed: (service: Service) => void;
}) {
  const flavors = useLoad(() => trainingApi.flavors(), []);
  const usable = useMemo(
    () => (flavors.data ?? []).filter((f) => f.purpose === "deploy" && (!f.task_types?.length || f.task_types.includes(props.project.type))),
    [flavors.data, props.project.type],
  );
  const completed = (props.versions ?? []).filter((v) => v.status === "completed");
  const [versionId, setVersionId] = useState(props.version?.id ?? completed[completed.length - 1]?.id ?? "");
  const [flavorCode, setFlavorCode] = useState("");
  const [autoStop, setAutoStop] = useState(true);
  const [choice, setChoice] = useState<AutoStopChoice>("1");
  const [custom, setCustom] = useState("3");
  const [idleStop, setIdleStop] = useState(false);
  const [idleText, setIdleText] = useState("30");
  const [agreed, setAgreed] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  // A paid flavor by default: it needs no agreement, so OK works at once; free stays one pick away.
  const flavor = usable.find((f) => f.code === flavorCode) ?? usable.find((f) => !f.free) ?? usable[0];
  const stop = autoStopHours(autoStop ? choice : "off", custom);
  const idle = idleStop ? idleMinutes(idleText) : undefined;
  const blockedBy = !versionId
    ? "Choose a version to deploy."
    : !flavor
      ? "No deploy specification is available."
      : !stop
        ? "Enter the auto-stop time: a whole number of hours from 1 to 24."
        : idle === null
          ? "Enter the idle time: a whole number of minutes."
          : flavor.free && !agreed
            ? "Free specifications need your agreement: tick “I have read and agree” above."
            : null;
  const valid = !blockedBy;

  const submit = async () => {
    if (!flavor || !stop || idle === null) return;
    setBusy(true);
    setError(null);
    try {
      const service = await servingApi.deploy(props.project.id, versionId, { flavor: flavor.code, auto_stop: idle ? { ...stop, idle_minutes: idle } : stop });
      props.onDeployed(service);
      props.onClose();
    } catch (err) {
      setError(errorText(err));
      setBusy(false);
    }
  };

  return (
    <Modal
      title="Deploy as a real-time service"
      onClose={props.onClose}
      testId="deploy-dialog"
      footer={
        <>
          {blockedBy && <span className="muted small grow" data-testid="deploy-disabled-reason">{blockedBy}</span>}
          <button onClick={props.onClose}>Cancel</button>
          <button className="primary" disabled={!valid || busy} title={blockedBy ?? undefined} onClick={submit} data-testid="deploy-submit">{busy ? "Deploying…" : "OK"}</button>
        </>
      }
    >
      {props.version ? (
        <p>Version <b>{props.version.name}</b></p>
      ) : (
        <Field label="Version" error={completed.length ? null : "No completed version yet."}>
          <select value={versionId} onChange={(e) => setVersionId(e.target.value)} data-testid="deploy-version">
            {completed.map((v) => <option key={v.id} value={v.id}>{v.name}</option>)}
          </select>
        </Field>
      )}
      <Field label="Specifications" error={flavors.data && !usable.length ? "No deploy flavor is available." : flavors.error}>
        <select value={flavor?.code ?? ""} onChange={(e) => { setFlavorCode(e.target.value); setAgreed(false); }} data-testid="deploy-flavor">
          {usable.map((f) => <option key={f.code} value={f.code}>{flavorLabel(f)}</option>)}
        </select>
      </Field>
      {flavor?.free && (
        <Notice kind="warn">
          Free specifications are shared and may be slower{flavor.max_minutes ? `; a free service runs at most ${flavor.max_minutes} minutes` : ""}.
          <label className="radio-line"><input type="checkbox" checked={agreed} onChange={(e) => setAgreed(e.target.checked)} data-testid="deploy-free-agree" /> I have read and agree to the above.</label>
        </Notice>
      )}
      <Field label="Compute nodes"><input value="1" disabled /></Field>
      <div className="field">
        <label className="radio-line">
          <input type="checkbox" checked={autoStop} onChange={(e) => setAutoStop(e.target.checked)} data-testid="deploy-auto-stop" />
          <b>Auto stop</b> <span className="muted small">Stops the service (and its billing) at the chosen time.</span>
        </label>
        {autoStop && (
          <div className="toolbar">
            <select value={choice} onChange={(e) => setChoice(e.target.value as AutoStopChoice)} data-testid="deploy-auto-stop-hours">
              {AUTO_STOP_CHOICES.filter((c) => c.value !== "off").map((c) => <option key={c.value} value={c.value}>{c.label}</option>)}
            </select>
            {choice === "custom" && (
              <>
                <input type="number" min={1} max={24} step={1} value={custom} onChange={(e) => setCustom(e.target.value)} className="short" data-testid="deploy-auto-stop-custom" />
                <span>hours later</span>
              </>
            )}
          </div>
        )}
        {autoStop && !stop && <span className="field-error">Enter a whole number of hours from 1 to 24.</span>}
        {!autoStop && !idleStop && <Notice kind="warn">Without auto stop the service keeps running (and billing) until you stop it.</Notice>}
      </div>
      <div className="field">
        <label className="radio-line">
          <input type="checkbox" checked={idleStop} onChange={(e) => setIdleStop(e.target.checked)} data-testid="deploy-idle-stop" />
          <b>Stop when idle</b> <span className="muted small">Stops the service after this long without calls.</span>
        </label>
        {idleStop && (
          <div className="toolbar">
            <input type="number" min={IDLE_MINUTES_RANGE.min} max={IDLE_MINUTES_RANGE.max} step={1} value={idleText} onChange={(e) => setIdleText(e.target.value)} className="short" data-testid="deploy-idle-minutes" />
            <span>minutes without calls</span>
          </div>
        )}
        {idleStop && idle === null && <span className="field-error">Enter a whole number of minutes from {IDLE_MINUTES_RANGE.min} to {IDLE_MINUTES_RANGE.max}.</span>}
      </div>
      <ErrorBox message={error} />
    </Modal>
  );
}

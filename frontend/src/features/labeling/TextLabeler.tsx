import { useEffect, useState } from "react";
import { useBlocker } from "react-router-dom";
import { errorText } from "../../api/client";
import type { Label, Sample } from "../../api/types";
import { ErrorBox, Modal } from "../../components/ui";
import type { AnnotationBody } from "./useAnnotate";

/** Text: one label per line, edited locally and sent with "Save Current Page". */
export function TextLabeler(props: {
  samples: Sample[];
  labels: Label[];
  selected: Set<string>;
  onToggle: (id: string) => void;
  canWrite: boolean;
  save: (sample: Sample, body: AnnotationBody) => Promise<Sample>;
  onSaved: (sample: Sample) => void;
  onDirty: (dirty: boolean) => void;
}) {
  const [choices, setChoices] = useState<Record<string, string | null>>({});
  const [saving, setSaving] = useState(false);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => setChoices({}), [props.samples.map((s) => s.id).join(",")]);

  const changed = props.samples.filter((s) => s.id in choices && choices[s.id] !== (s.labels[0] ?? null));
  const dirty = changed.length > 0;
  useEffect(() => props.onDirty(dirty), [dirty]); // eslint-disable-line react-hooks/exhaustive-deps

  useEffect(() => {
    if (!dirty) return;
    const warn = (e: BeforeUnloadEvent) => {
      e.preventDefault();
      e.returnValue = "";
    };
    window.addEventListener("beforeunload", warn);
    return () => window.removeEventListener("beforeunload", warn);
  }, [dirty]);
  const blocker = useBlocker(({ currentLocation, nextLocation }) => dirty && currentLocation.pathname !== nextLocation.pathname);

  const savePage = async () => {
    setSaving(true);
    setError(null);
    try {
      for (const s of changed) {
        const label = choices[s.id];
        props.onSaved(await props.save(s, { labels: label ? [label] : [] }));
      }
      setChoices({});
    } catch (err) {
      setError(errorText(err));
    } finally {
      setSaving(false);
    }
  };

  return (
    <div className="text-labeler" data-testid="text-labeler">
      <ul className="text-list" data-testid="sample-grid">
        {props.samples.map((s) => {
          const value = s.id in choices ? choices[s.id] : s.labels[0] ?? null;
          const isChanged = s.id in choices && choices[s.id] !== (s.labels[0] ?? null);
          return (
            <li key={s.id} className={`${isChanged ? "changed" : ""}${props.selected.has(s.id) ? " selected" : ""}`}
              data-testid="sample-item" data-sample-id={s.id} data-sample-name={s.name}>
              <input type="checkbox" checked={props.selected.has(s.id)} onChange={() => props.onToggle(s.id)} data-testid="sample-checkbox" aria-label="Select line" />
              <div className="text-body">
                <div className="text-content" data-testid="text-content">{s.text}</div>
                <div className="label-buttons">
                  {props.labels.map((l) => (
                    <button key={l.name} disabled={!props.canWrite}
                      className={`label-button small${value === l.name ? " active" : ""}`}
                      style={value === l.name ? { background: l.color, borderColor: l.color, color: "#fff" } : { borderColor: l.color }}
                      onClick={() => setChoices((c) => ({ ...c, [s.id]: value === l.name ? null : l.name }))}
                      data-testid={`label-button-${l.name}`}>
                      {l.name}
                    </button>
                  ))}
                </div>
              </div>
            </li>
          );
        })}
      </ul>
      {props.canWrite && (
        <div className="form-actions sticky">
          {dirty && <span className="muted small" data-testid="text-dirty">{changed.length} unsaved change{changed.length > 1 ? "s" : ""}</span>}
          <button onClick={() => setChoices({})} disabled={!dirty || saving}>Discard</button>
          <button className="primary" onClick={savePage} disabled={!dirty || saving} data-testid="text-save-page">
            {saving ? "Saving…" : "Save Current Page"}
          </button>
        </div>
      )}
      <ErrorBox message={error} />
      {blocker.state === "blocked" && (
        <Modal
          title="Unsaved labels"
          onClose={() => blocker.reset()}
          testId="unsaved-dialog"
          footer={
            <>
              <button onClick={() => blocker.reset()} data-testid="unsaved-stay">Stay</button>
              <button className="danger" onClick={() => blocker.proceed()} data-testid="unsaved-leave">Leave without saving</button>
            </>
          }
        >
          <p>This page has {changed.length} unsaved label change{changed.length > 1 ? "s" : ""}. They are lost if you leave.</p>
        </Modal>
      )}
    </div>
  );
}

import { useCallback, useEffect, useRef, useState } from "react";
import { errorText } from "../../api/client";
import { datasetsApi } from "../../api/datasets";
import type { Suggestion } from "../../api/assist";
import type { Label, Sample } from "../../api/types";
import { SuggestionBadge } from "./Assist";
import { ErrorBox } from "../../components/ui";
import { validateLabelName } from "../../lib/validation";
import { PALETTE } from "../projects/CreateProjectPage";
import { BoxEditor, type EditorObject } from "./boxEditor/BoxEditor";
import { fromBbox, toBbox } from "./boxEditor/geometry";
import type { AnnotationBody } from "./useAnnotate";
import { canRedo, canUndo, checkpoint, historyOf, isTyping, push, redo, replace as replaceState, undo, undoKey, type History } from "../../lib/history";
import { SampleHistory } from "./SampleHistory";
import { ShortcutsDialog } from "./ShortcutsDialog";
import { shortcutKeys } from "./SoundLabeler";
import { UnsavedGuard } from "./UnsavedGuard";

const toEditor = (s: Sample): EditorObject[] => s.objects.map((o) => ({ ...fromBbox(o.bbox), label: o.label }));

const AUTOSAVE_MS = 800;

/**
 * What choosing a label does: with a box selected it relabels that box only (the label for
 * new boxes stays); with none selected it becomes the label of the next box drawn. A box just
 * drawn is not selected, so choosing the next box's label never relabels it.
 */
export function pickedLabel(selectedBox: { label: string } | null, name: string): { relabel: boolean; current: boolean } {
  if (selectedBox) return { relabel: selectedBox.label !== name, current: false };
  return { relabel: false, current: true };
}

/** Equal up to half a pixel: the server may round what it stores. */
export function sameBoxes(a: EditorObject[], b: EditorObject[]): boolean {
  return a.length === b.length && a.every((o, i) => {
    const p = b[i];
    return o.label === p.label && Math.abs(o.xmin - p.xmin) <= 0.5 && Math.abs(o.ymin - p.ymin) <= 0.5 &&
      Math.abs(o.xmax - p.xmax) <= 0.5 && Math.abs(o.ymax - p.ymax) <= 0.5;
  });
}

/**
 * Boxes on one image. Every change is saved on its own shortly after it is made (If-Match
 * on the revision the editor last saw), and every exit (another image, the sidebar, a
 * reload) waits for the save or asks; Ctrl+Z / Ctrl+Shift+Z undo and redo edits.
 */
export function DetectionLabeler(props: {
  datasetId: string;
  samples: Sample[];
  index: number;
  labels: Label[];
  canWrite: boolean;
  save: (sample: Sample, body: AnnotationBody) => Promise<Sample>;
  onSaved: (sample: Sample) => void;
  onLabelsChanged: () => void;
  onIndex: (index: number) => void;
  onEdge: (direction: 1 | -1) => void;
  onClose: () => void;
  /** The open image's pending model suggestion (boxes drawn dashed until accepted). */
  suggestion?: Suggestion;
  /** Accepts or rejects it; answers the sample as stored afterwards. */
  onDecide?: (s: Suggestion, accept: boolean) => Promise<Sample | null>;
}) {
  const sample = props.samples[props.index];
  const [hist, setHist] = useState<History<EditorObject[]>>(() => historyOf(sample ? toEditor(sample) : []));
  const objects = hist.present;
  // What the server holds for this image, as the editor last saved or loaded it.
  const [saved, setSaved] = useState<EditorObject[]>(() => (sample ? toEditor(sample) : []));
  const dirty = !sameBoxes(objects, saved);
  const [selected, setSelected] = useState<number | null>(null);
  const [current, setCurrent] = useState(props.labels[0]?.name ?? "");
  const [newName, setNewName] = useState("");
  const [newColor, setNewColor] = useState(PALETTE[props.labels.length % PALETTE.length]);
  const [error, setError] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);
  const [showKeys, setShowKeys] = useState(false);

  // The latest revision and boxes, read by saves that run after renders.
  const latest = useRef(sample);
  const live = useRef({ objects, saved });
  live.current = { objects, saved };
  const inflight = useRef<Promise<boolean> | null>(null);

  useEffect(() => {
    if (!sample) return;
    latest.current = sample;
    const loaded = toEditor(sample);
    setHist(historyOf(loaded));
    setSaved(loaded);
    setSelected(null);
    setError(null);
    // Only when moving to another sample; saving the same one keeps the editor state.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [sample?.id]);

  useEffect(() => {
    if (!current && props.labels.length) setCurrent(props.labels[0].name);
  }, [props.labels, current]);

  /** Saves what the editor shows unless the server has it already; true when it is saved. */
  const persist = useCallback(async (): Promise<boolean> => {
    if (!props.canWrite) return true;
    while (inflight.current) await inflight.current;
    const body = live.current.objects;
    if (sameBoxes(body, live.current.saved)) return true;
    const run = (async () => {
      setSaving(true);
      setError(null);
      try {
        const result = await props.save(latest.current!, { objects: body.map((o) => ({ label: o.label, bbox: toBbox(o) })) });
        latest.current = result;
        props.onSaved(result);
        const stored = toEditor(result);
        setSaved(stored);
        // A conflict settled with "keep their change": show theirs, with a fresh history.
        if (!sameBoxes(stored, body)) setHist(historyOf(stored));
        return true;
      } catch (err) {
        setError(`Not saved: ${errorText(err)}`);
        return false;
      } finally {
        setSaving(false);
        inflight.current = null;
      }
    })();
    inflight.current = run;
    return run;
  }, [props]);

  // Save a moment after the last change: a burst of edits is one request.
  const objectsKey = JSON.stringify(objects);
  useEffect(() => {
    if (!dirty || !props.canWrite || error) return;
    const t = window.setTimeout(() => void persist(), AUTOSAVE_MS);
    return () => window.clearTimeout(t);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [objectsKey, dirty, error]);

  const undoRedo = (kind: "undo" | "redo") => {
    setHist((h) => (kind === "undo" ? undo(h) : redo(h)));
    setSelected(null);
    setError(null);
  };

  // Only an image without boxes of its own offers the suggestion: drawn boxes are the answer.
  const suggestion = props.suggestion && !sample?.labeled && objects.length === 0 && !dirty ? props.suggestion : undefined;
  const decide = async (s: Suggestion, accept: boolean) => {
    if (!props.onDecide) return;
    try {
      const stored = await props.onDecide(s, accept);
      if (stored && stored.id === latest.current?.id) {
        latest.current = stored;
        const loaded = toEditor(stored);
        setHist(historyOf(loaded));
        setSaved(loaded);
      }
    } catch (err) {
      setError(errorText(err));
    }
  };
  const keys = shortcutKeys(props.labels);
  const keyState = useRef({ keys, selected, objects, suggestion });
  keyState.current = { keys, selected, objects, suggestion };
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (isTyping(e.target) || document.querySelector(".modal-backdrop")) return;
      const kind = undoKey(e);
      if (kind) {
        e.preventDefault();
        if (props.canWrite) undoRedo(kind);
        return;
      }
      if (e.ctrlKey || e.metaKey || e.altKey) return;
      if (e.key === "?") { e.preventDefault(); setShowKeys((v) => !v); return; }
      // A label's own key wins over J/K.
      const name = keyState.current.keys.get(e.key.toLowerCase());
      if (name) { e.preventDefault(); pickLabel(name); return; }
      const sug = keyState.current.suggestion;
      if (sug && props.canWrite && /^[ar]$/i.test(e.key)) { e.preventDefault(); void decide(sug, e.key.toLowerCase() === "a"); return; }
      if (e.key === "j" || e.key === "J") { e.preventDefault(); void go(1); }
      else if (e.key === "k" || e.key === "K") { e.preventDefault(); void go(-1); }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  });

  if (!sample) return null;
  const colorOf = (name: string) => props.labels.find((l) => l.name === name)?.color || "#ff9800";

  const go = async (direction: 1 | -1) => {
    if (!(await persist())) return;
    const next = props.index + direction;
    if (next < 0 || next >= props.samples.length) props.onEdge(direction);
    else props.onIndex(next);
  };

  const change = (next: EditorObject[], opts?: { transient?: boolean }) => {
    setHist((h) => (opts?.transient ? replaceState(h, next) : push(h, next)));
    setError(null);
  };

  /** A label key or button: relabels the selected box when one is selected, else picks the next box's label. */
  function pickLabel(name: string) {
    const { selected: sel, objects: objs } = keyState.current;
    const next = pickedLabel(sel !== null ? objs[sel] ?? null : null, name);
    if (next.relabel) change(objs.map((o, i) => (i === sel ? { ...o, label: name } : o)));
    if (next.current) setCurrent(name);
  }

  const addLabel = async () => {
    const name = newName.trim();
    try {
      await datasetsApi.addLabel(props.datasetId, { name, color: newColor });
      setNewName("");
      setNewColor(PALETTE[(props.labels.length + 1) % PALETTE.length]);
      props.onLabelsChanged();
      pickLabel(name);
    } catch (err) {
      setError(errorText(err));
    }
  };
  const newNameError = newName ? validateLabelName(newName.trim()) : null;
  const keyOf = new Map([...keys].map(([k, name]) => [name, k]));
  const state = saving ? "saving" : dirty ? "dirty" : "saved";

  return (
    <div className="detection" data-testid="detection-labeler">
      <div className="detection-main">
        <div className="toolbar">
          <button onClick={async () => (await persist()) && props.onClose()} data-testid="det-back">← All images</button>
          <button onClick={() => go(-1)} aria-label="Previous image" data-testid="det-prev">‹</button>
          <span className="mono small" data-testid="det-name">{sample.name}</span>
          <button onClick={() => go(1)} aria-label="Next image" data-testid="det-next">›</button>
          <span className="spacer" />
          {props.canWrite && (
            <>
              <button onClick={() => undoRedo("undo")} disabled={!canUndo(hist)} title="Undo (Ctrl+Z)" aria-label="Undo" data-testid="det-undo">↶</button>
              <button onClick={() => undoRedo("redo")} disabled={!canRedo(hist)} title="Redo (Ctrl+Shift+Z)" aria-label="Redo" data-testid="det-redo">↷</button>
              <span className={`save-state ${state}`} data-testid="det-status" data-state={state}>
                {state === "saving" ? "Saving…" : state === "dirty" ? <span data-testid="det-dirty">Unsaved</span> : "All changes saved"}
              </span>
              <button className="primary" disabled={!dirty || saving} onClick={() => void persist()} data-testid="det-save">Save now</button>
            </>
          )}
          <button className="icon" onClick={() => setShowKeys(true)} title="Keyboard shortcuts (?)" aria-label="Keyboard shortcuts" data-testid="det-shortcuts">?</button>
        </div>
        <BoxEditor
          imageUrl={sample.content_url}
          objects={objects}
          onChange={change}
          onGestureStart={() => setHist(checkpoint)}
          colorOf={colorOf}
          newLabel={current}
          selected={selected}
          onSelect={setSelected}
          onPrev={() => void go(-1)}
          onNext={() => void go(1)}
          readOnly={!props.canWrite}
          suggested={suggestion && "objects" in suggestion.payload ? suggestion.payload.objects.map((o) => ({ ...fromBbox(o.bbox), label: o.label })) : undefined}
        />
        {suggestion && (
          <div className="toolbar">
            <SuggestionBadge suggestion={suggestion} canWrite={props.canWrite} onDecide={(s, a) => void decide(s, a)} keysHint />
            <span className="muted small">Dashed boxes are the model's; accept them (A) or reject (R), or draw your own.</span>
          </div>
        )}
        {error && (
          <div className="toolbar">
            <ErrorBox message={error} />
            {props.canWrite && <button onClick={() => { setError(null); void persist(); }} data-testid="det-retry">Retry saving</button>}
          </div>
        )}
        <UnsavedGuard dirty={props.canWrite && (dirty || saving)} what={`unsaved boxes on ${sample.name}`} save={persist} autoSave />
        {showKeys && <ShortcutsDialog kind="detection" onClose={() => setShowKeys(false)} />}
      </div>
      <aside className="detection-side">
        <section className="side-panel" data-testid="box-label-picker">
          <h3>Label</h3>
          <p className="muted small" data-testid="box-label-hint">
            {selected !== null
              ? "A label (click or key) relabels the selected box; Esc deselects it."
              : "New boxes get the highlighted label (click or key); click a box to relabel it."}
          </p>
          <div className="label-buttons">
            {props.labels.map((l) => (
              <button
                key={l.name}
                className={`label-button${current === l.name ? " active" : ""}`}
                style={{ borderColor: l.color }}
                onClick={() => pickLabel(l.name)}
                data-testid={`box-label-${l.name}`}
              >
                <span className="swatch" style={{ background: l.color }} /> {l.name} {keyOf.get(l.name) && <kbd>{keyOf.get(l.name)}</kbd>}
              </button>
            ))}
          </div>
          {props.labels.length === 0 && <p className="muted small">Add a label before drawing boxes.</p>}
          {props.canWrite && (
            <form className="toolbar" onSubmit={(e) => { e.preventDefault(); if (newName.trim() && !newNameError) void addLabel(); }}>
              <input placeholder="New label" value={newName} onChange={(e) => setNewName(e.target.value)} className="grow" data-testid="box-new-label-name" />
              <input type="color" value={newColor} onChange={(e) => setNewColor(e.target.value)} data-testid="box-new-label-color" />
              <button type="submit" disabled={!newName.trim() || !!newNameError} data-testid="box-new-label-add">Add</button>
            </form>
          )}
          {newNameError && <div className="field-error">{newNameError}</div>}
        </section>
        <section className="side-panel">
          <h3>Boxes on this image ({objects.length})</h3>
          <ul className="box-list" data-testid="box-list">
            {objects.map((o, i) => (
              <li key={i} className={i === selected ? "selected" : ""} onClick={() => setSelected(i)}>
                <span className="swatch" style={{ background: colorOf(o.label) }} />
                <span className="grow">{o.label}</span>
                <span className="mono small muted">{toBbox(o).map((v) => Math.round(v)).join(",")}</span>
                {props.canWrite && (
                  <button className="icon danger" aria-label="Delete box" onClick={(e) => { e.stopPropagation(); change(objects.filter((_, j) => j !== i)); setSelected(null); }} data-testid="box-delete">×</button>
                )}
              </li>
            ))}
          </ul>
          {objects.length === 0 && <p className="muted small">No boxes: the image stays Unlabeled.</p>}
        </section>
        <section className="side-panel">
          <SampleHistory datasetId={props.datasetId} sample={sample} />
        </section>
      </aside>
    </div>
  );
}

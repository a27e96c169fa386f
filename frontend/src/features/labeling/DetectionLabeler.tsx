import { useEffect, useState } from "react";
import { errorText } from "../../api/client";
import { datasetsApi } from "../../api/datasets";
import type { Label, Sample } from "../../api/types";
import { ErrorBox } from "../../components/ui";
import { validateLabelName } from "../../lib/validation";
import { PALETTE } from "../projects/CreateProjectPage";
import { BoxEditor, type EditorObject } from "./boxEditor/BoxEditor";
import { fromBbox, toBbox } from "./boxEditor/geometry";
import type { AnnotationBody } from "./useAnnotate";

const toEditor = (s: Sample): EditorObject[] => s.objects.map((o) => ({ ...fromBbox(o.bbox), label: o.label }));

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
}) {
  const sample = props.samples[props.index];
  const [objects, setObjects] = useState<EditorObject[]>(() => (sample ? toEditor(sample) : []));
  const [dirty, setDirty] = useState(false);
  const [selected, setSelected] = useState<number | null>(null);
  const [current, setCurrent] = useState(props.labels[0]?.name ?? "");
  const [newName, setNewName] = useState("");
  const [newColor, setNewColor] = useState(PALETTE[props.labels.length % PALETTE.length]);
  const [error, setError] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);

  useEffect(() => {
    if (!sample) return;
    setObjects(toEditor(sample));
    setDirty(false);
    setSelected(null);
    // Only when moving to another sample; saving the same one keeps the editor state.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [sample?.id]);

  useEffect(() => {
    if (!current && props.labels.length) setCurrent(props.labels[0].name);
  }, [props.labels, current]);

  if (!sample) return null;
  const colorOf = (name: string) => props.labels.find((l) => l.name === name)?.color || "#ff9800";

  const persist = async (): Promise<boolean> => {
    if (!dirty || !props.canWrite) return true;
    setSaving(true);
    setError(null);
    try {
      const saved = await props.save(sample, { objects: objects.map((o) => ({ label: o.label, bbox: toBbox(o) })) });
      props.onSaved(saved);
      setObjects(toEditor(saved));
      setDirty(false);
      return true;
    } catch (err) {
      setError(errorText(err));
      return false;
    } finally {
      setSaving(false);
    }
  };

  const go = async (direction: 1 | -1) => {
    if (!(await persist())) return;
    const next = props.index + direction;
    if (next < 0 || next >= props.samples.length) props.onEdge(direction);
    else props.onIndex(next);
  };

  const change = (next: EditorObject[]) => {
    setObjects(next);
    setDirty(true);
  };

  const pickLabel = (name: string) => {
    setCurrent(name);
    if (selected !== null && objects[selected] && objects[selected].label !== name) {
      change(objects.map((o, i) => (i === selected ? { ...o, label: name } : o)));
    }
  };

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

  return (
    <div className="detection" data-testid="detection-labeler">
      <div className="detection-main">
        <div className="toolbar">
          <button onClick={async () => (await persist()) && props.onClose()} data-testid="det-back">← All images</button>
          <button onClick={() => go(-1)} aria-label="Previous image" data-testid="det-prev">‹</button>
          <span className="mono small" data-testid="det-name">{sample.name}</span>
          <button onClick={() => go(1)} aria-label="Next image" data-testid="det-next">›</button>
          <span className="spacer" />
          {dirty && <span className="muted small" data-testid="det-dirty">Unsaved</span>}
          {props.canWrite && (
            <button className="primary" disabled={!dirty || saving} onClick={() => void persist()} data-testid="det-save">
              {saving ? "Saving…" : "Save"}
            </button>
          )}
        </div>
        <BoxEditor
          imageUrl={sample.content_url}
          objects={objects}
          onChange={change}
          colorOf={colorOf}
          newLabel={current}
          selected={selected}
          onSelect={setSelected}
          onPrev={() => void go(-1)}
          onNext={() => void go(1)}
          readOnly={!props.canWrite}
        />
        <ErrorBox message={error} />
      </div>
      <aside className="detection-side">
        <section className="side-panel" data-testid="box-label-picker">
          <h3>Label</h3>
          <p className="muted small">{selected !== null ? "Click a label to relabel the selected box." : "New boxes get the highlighted label."}</p>
          <div className="label-buttons">
            {props.labels.map((l) => (
              <button
                key={l.name}
                className={`label-button${current === l.name ? " active" : ""}`}
                style={{ borderColor: l.color }}
                onClick={() => pickLabel(l.name)}
                data-testid={`box-label-${l.name}`}
              >
                <span className="swatch" style={{ background: l.color }} /> {l.name}
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
      </aside>
    </div>
  );
}

import { useState } from "react";
import { errorText } from "../../api/client";
import { datasetsApi } from "../../api/datasets";
import type { Label, ProjectType, Sample } from "../../api/types";
import { ErrorBox } from "../../components/ui";
import { validateLabelName } from "../../lib/validation";
import { PALETTE } from "../projects/CreateProjectPage";
import { LabelChips } from "./SampleGrid";
import type { LabelChange } from "./useLabelUndo";
import type { LabelMode } from "./labelMode";
import { shortcutKeys } from "./SoundLabeler";

/**
 * Labels for the selected samples (image and sound): add an existing or new label to all
 * of them at once, or remove one that some of them carry — one batch request each.
 */
export function SelectionPanel(props: {
  datasetId: string;
  type: ProjectType;
  /** Single-label: a label button replaces the selected samples' label; multi-label adds it. */
  mode: LabelMode;
  selected: Sample[];
  labels: Label[];
  canWrite: boolean;
  onChanged: () => void;
  onLabelled?: (changes: LabelChange[]) => void;
}) {
  const [text, setText] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const ids = props.selected.map((s) => s.id);
  const onSelection = [...new Set(props.selected.flatMap((s) => s.labels))];
  const nameError = text ? validateLabelName(text.trim()) : null;
  // The keys the grid answers to, shown on the buttons that do the same.
  const keyOf = new Map([...shortcutKeys(props.labels)].map(([k, name]) => [name, k]));

  const run = async (work: () => Promise<unknown>) => {
    setBusy(true);
    setError(null);
    try {
      await work();
      props.onChanged();
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };

  const add = (name: string) =>
    run(async () => {
      if (!props.labels.some((l) => l.name === name)) {
        await datasetsApi.addLabel(props.datasetId, { name, color: PALETTE[props.labels.length % PALETTE.length] });
      }
      await datasetsApi.batch(props.datasetId, ids, [name], []);
      const single = props.mode === "single";
      props.onLabelled?.(props.selected.map((s) => ({ id: s.id, before: s.labels, after: single ? [name] : [...new Set([...s.labels, name])] })));
      setText("");
    });

  const remove = (name: string) =>
    run(async () => {
      await datasetsApi.batch(props.datasetId, ids, [], [name]);
      props.onLabelled?.(props.selected.map((s) => ({ id: s.id, before: s.labels, after: s.labels.filter((l) => l !== name) })));
    });

  return (
    <section className="side-panel" data-testid="selection-panel">
      <h3>Label</h3>
      <p className="muted small" data-testid="selection-count">{ids.length ? `${ids.length} selected` : "Select samples to label them."}</p>
      {props.canWrite && (
        <>
          <form
            className="toolbar"
            onSubmit={(e) => {
              e.preventDefault();
              if (text.trim() && !nameError && ids.length) void add(text.trim());
            }}
          >
            <input list="label-options" placeholder="Label name" value={text} onChange={(e) => setText(e.target.value)} className="grow" data-testid="selection-label-input" />
            <datalist id="label-options">{props.labels.map((l) => <option key={l.name} value={l.name} />)}</datalist>
            <button className="primary" type="submit" disabled={!ids.length || !text.trim() || !!nameError || busy} data-testid="selection-label-ok">OK</button>
          </form>
          {nameError && <div className="field-error">{nameError}</div>}
          <div className="label-buttons">
            {props.labels.map((l) => (
              <button key={l.name} className="label-button" disabled={!ids.length || busy} onClick={() => add(l.name)} style={{ borderColor: l.color }} data-testid={`label-button-${l.name}`}>
                <span className="swatch" style={{ background: l.color }} /> {l.name} {keyOf.get(l.name) && <kbd data-testid="label-key">{keyOf.get(l.name)}</kbd>}
              </button>
            ))}
          </div>
        </>
      )}
      {onSelection.length > 0 && (
        <>
          <h4>Labels of selected {props.type === "sound_classification" ? "clips" : "images"}</h4>
          <LabelChips names={onSelection} labels={props.labels} onRemove={props.canWrite ? (n) => void remove(n) : undefined} />
        </>
      )}
      <ErrorBox message={error} />
    </section>
  );
}

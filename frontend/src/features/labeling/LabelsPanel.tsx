import { useState } from "react";
import { errorText } from "../../api/client";
import { datasetsApi } from "../../api/datasets";
import type { Label, LabelDeleteMode, ProjectType } from "../../api/types";
import { ErrorBox, Field, Modal } from "../../components/ui";
import { labelsNeedColor, validateColor, validateLabelName } from "../../lib/validation";
import { PALETTE } from "../projects/CreateProjectPage";

const DELETE_MODES: { mode: LabelDeleteMode; text: string }[] = [
  { mode: "label_only", text: "Delete the label only" },
  { mode: "label_and_samples", text: "Delete the label and the samples that have only this label (keep source files)" },
  { mode: "label_and_samples_and_files", text: "Delete the label and the samples that have only this label, and their source files" },
];

export function LabelEditDialog(props: {
  datasetId: string;
  type: ProjectType;
  label: Label | null; // null: add a new label
  existing: Label[];
  onClose: () => void;
  onSaved: () => void;
}) {
  const [name, setName] = useState(props.label?.name ?? "");
  const [color, setColor] = useState(props.label?.color || PALETTE[props.existing.length % PALETTE.length]);
  const [shortcut, setShortcut] = useState(props.label?.shortcut ?? "");
  const [error, setError] = useState<string | null>(null);
  const sound = props.type === "sound_classification";
  const nameError =
    validateLabelName(name) ??
    (props.existing.some((l) => l.name === name && l.name !== props.label?.name) ? "A label with this name exists." : null);
  const colorError = labelsNeedColor(props.type) ? validateColor(color) : null;
  const shortcutError =
    shortcut && !/^[a-z0-9]$/i.test(shortcut)
      ? "One letter or digit."
      : shortcut && props.existing.some((l) => l.shortcut?.toLowerCase() === shortcut.toLowerCase() && l.name !== props.label?.name)
        ? "Used by another label."
        : null;

  const save = async () => {
    setError(null);
    try {
      const body = { name, color, ...(sound ? { shortcut: shortcut || null } : {}) };
      if (props.label) {
        const patch: { name?: string; color?: string; shortcut?: string | null } = {};
        if (name !== props.label.name) patch.name = name;
        if (color !== props.label.color) patch.color = color;
        if (sound && (shortcut || null) !== props.label.shortcut) patch.shortcut = shortcut || null;
        await datasetsApi.patchLabel(props.datasetId, props.label.name, patch);
      } else {
        await datasetsApi.addLabel(props.datasetId, body);
      }
      props.onSaved();
      props.onClose();
    } catch (err) {
      setError(errorText(err));
    }
  };

  return (
    <Modal
      title={props.label ? `Modify label ${props.label.name}` : "Add label"}
      onClose={props.onClose}
      testId="label-edit-dialog"
      footer={
        <>
          <button onClick={props.onClose}>Cancel</button>
          <button className="primary" disabled={!!(nameError || colorError || shortcutError)} onClick={save} data-testid="label-edit-save">OK</button>
        </>
      }
    >
      <Field label="Label name" error={name ? nameError : null}>
        <input autoFocus value={name} onChange={(e) => setName(e.target.value)} data-testid="label-edit-name" />
      </Field>
      <Field label="Color" error={colorError}>
        <input type="color" value={color} onChange={(e) => setColor(e.target.value)} data-testid="label-edit-color" />
      </Field>
      {sound && (
        <Field label="Shortcut key" error={shortcutError} hint="Press it while a clip is selected to label it and move on.">
          <input maxLength={1} value={shortcut} onChange={(e) => setShortcut(e.target.value)} data-testid="label-edit-shortcut" />
        </Field>
      )}
      <ErrorBox message={error} />
    </Modal>
  );
}

function LabelDeleteDialog(props: { datasetId: string; label: Label; onClose: () => void; onDeleted: () => void }) {
  const [mode, setMode] = useState<LabelDeleteMode>("label_only");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const remove = async () => {
    setBusy(true);
    try {
      await datasetsApi.deleteLabel(props.datasetId, props.label.name, mode);
      props.onDeleted();
      props.onClose();
    } catch (err) {
      setError(errorText(err));
      setBusy(false);
    }
  };
  return (
    <Modal
      title={`Delete label ${props.label.name}`}
      onClose={props.onClose}
      testId="label-delete-dialog"
      footer={
        <>
          <button onClick={props.onClose}>Cancel</button>
          <button className="danger" disabled={busy} onClick={remove} data-testid="label-delete-ok">Delete</button>
        </>
      }
    >
      <p>{props.label.count} sample{props.label.count === 1 ? "" : "s"} carry this label. Deleted samples and files cannot be recovered.</p>
      {DELETE_MODES.map((m) => (
        <label key={m.mode} className="radio-line">
          <input type="radio" name="delete-mode" checked={mode === m.mode} onChange={() => setMode(m.mode)} data-testid={`label-delete-mode-${m.mode}`} />
          {m.text}
        </label>
      ))}
      <ErrorBox message={error} />
    </Modal>
  );
}

/** "All Labels": names, colors, counts; add, modify (name, color, shortcut) and delete by mode. */
export function LabelsPanel(props: {
  datasetId: string;
  type: ProjectType;
  labels: Label[];
  canWrite: boolean;
  onChanged: () => void;
  onFilter?: (label: string | null) => void;
  activeFilter?: string | null;
}) {
  const [editing, setEditing] = useState<Label | "new" | null>(null);
  const [deleting, setDeleting] = useState<Label | null>(null);
  return (
    <section className="side-panel" data-testid="all-labels">
      <div className="toolbar">
        <h3>All Labels</h3>
        <span className="spacer" />
        {props.canWrite && <button className="icon" aria-label="Add label" onClick={() => setEditing("new")} data-testid="label-add">+</button>}
      </div>
      {props.labels.length === 0 && <p className="muted small">No labels yet.</p>}
      <table className="table compact">
        <tbody>
          {props.labels.map((l) => (
            <tr key={l.name} data-testid={`label-row-${l.name}`} className={props.activeFilter === l.name ? "selected" : ""}>
              <td><span className="swatch" style={{ background: l.color || "#999" }} /></td>
              <td>
                {props.onFilter ? (
                  <button className="link" title="Show only this label" onClick={() => props.onFilter!(props.activeFilter === l.name ? null : l.name)}>{l.name}</button>
                ) : l.name}
                {l.shortcut && <kbd className="small">{l.shortcut}</kbd>}
              </td>
              <td className="num" data-testid="label-count">{l.count}</td>
              <td className="actions">
                {props.canWrite && (
                  <>
                    <button className="icon" aria-label={`Modify ${l.name}`} onClick={() => setEditing(l)} data-testid="label-edit">✎</button>
                    <button className="icon danger" aria-label={`Delete ${l.name}`} onClick={() => setDeleting(l)} data-testid="label-delete">×</button>
                  </>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {editing && (
        <LabelEditDialog
          datasetId={props.datasetId}
          type={props.type}
          label={editing === "new" ? null : editing}
          existing={props.labels}
          onClose={() => setEditing(null)}
          onSaved={props.onChanged}
        />
      )}
      {deleting && <LabelDeleteDialog datasetId={props.datasetId} label={deleting} onClose={() => setDeleting(null)} onDeleted={props.onChanged} />}
    </section>
  );
}

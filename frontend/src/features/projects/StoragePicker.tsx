import { useState } from "react";
import { errorText } from "../../api/client";
import { storageApi } from "../../api/resources";
import { Icon } from "../../components/icons";
import { ErrorBox, Modal } from "../../components/ui";
import { useLoad } from "../../lib/hooks";
import { StorageUpload } from "./StorageUpload";
import { formatBytes } from "../../lib/upload";
import { normalizeFolder, validateFolderName } from "../../lib/validation";
import { useAuth } from "../auth/AuthContext";

function baseName(path: string): string {
  const parts = path.replace(/\/+$/, "").split("/");
  return parts[parts.length - 1] || path;
}

function parentOf(path: string): string {
  const trimmed = path.replace(/\/+$/, "");
  const cut = trimmed.lastIndexOf("/");
  return cut > "s3://".length ? trimmed.slice(0, cut + 1) : path;
}

/**
 * Browses the tenant's storage. In "folder" mode the current folder is chosen; in "csv"
 * mode a .csv object is. Folders can be created in place ("a/b" makes nested ones).
 */
export function StoragePicker(props: {
  mode: "folder" | "csv";
  initial?: string;
  onPick: (path: string) => void;
  onClose: () => void;
  testId?: string;
}) {
  const { me } = useAuth();
  const roots = me?.tenant.storage_roots?.length ? me.tenant.storage_roots.map(normalizeFolder) : [];
  const startAt = (() => {
    const init = props.initial?.trim();
    if (init && init.startsWith("s3://")) return props.mode === "csv" ? parentOf(init) : normalizeFolder(init);
    return roots[0] ?? "s3://";
  })();
  const [path, setPath] = useState(startAt);
  const [picked, setPicked] = useState<string | null>(null);
  const [newName, setNewName] = useState("");
  const [createError, setCreateError] = useState<string | null>(null);
  const listing = useLoad(() => storageApi.browse(path), [path]);
  const atRoot = roots.includes(normalizeFolder(path));
  const nameError = newName ? validateFolderName(newName, path) : null;

  const createFolder = async () => {
    setCreateError(null);
    try {
      const target = normalizeFolder(path) + newName + "/";
      await storageApi.createFolder(target);
      setNewName("");
      setPath(target);
    } catch (err) {
      setCreateError(errorText(err));
    }
  };

  const choice = props.mode === "folder" ? normalizeFolder(path) : picked;
  return (
    <Modal
      title={props.mode === "folder" ? "Select a folder" : "Select a CSV file"}
      onClose={props.onClose}
      wide
      testId={props.testId ?? "storage-picker"}
      footer={
        <>
          <span className="mono small grow">{choice ?? "No file selected"}</span>
          <button type="button" onClick={props.onClose}>Cancel</button>
          <button type="button" className="primary" disabled={!choice} onClick={() => choice && props.onPick(choice)} data-testid="storage-pick">
            Select
          </button>
        </>
      }
    >
      <div className="toolbar">
        <button type="button" disabled={atRoot} onClick={() => setPath(parentOf(path))} data-testid="storage-up">↑ Up</button>
        <input className="mono grow" value={path} onChange={(e) => setPath(e.target.value)} data-testid="storage-path" />
      </div>
      {roots.length > 1 && (
        <div className="chips">
          {roots.map((r) => <button type="button" key={r} className="chip" onClick={() => setPath(r)}>{r}</button>)}
        </div>
      )}
      <ErrorBox message={listing.error} />
      <ul className="storage-list" data-testid="storage-list">
        {listing.data?.folders.map((f) => (
          <li key={f}>
            <button type="button" className="link" onClick={() => setPath(normalizeFolder(f))} data-testid={`storage-folder-${baseName(f)}`}><Icon name="folder" size={15} /> {baseName(f)}</button>
          </li>
        ))}
        {listing.data?.objects.map((o) => {
          const selectable = props.mode === "csv" && /\.csv$/i.test(o.path);
          return (
            <li key={o.path} className={picked === o.path ? "selected" : ""}>
              {selectable ? (
                <button type="button" className="link" onClick={() => setPicked(o.path)} data-testid={`storage-object-${baseName(o.path)}`}><Icon name="file" size={15} /> {baseName(o.path)}</button>
              ) : (
                <span className="muted"><Icon name="file" size={15} /> {baseName(o.path)}</span>
              )}
              <span className="muted small"> {formatBytes(o.size)}</span>
            </li>
          );
        })}
        {listing.data && !listing.data.folders.length && !listing.data.objects.length && <li className="muted">Empty folder</li>}
      </ul>
      <StorageUpload folder={normalizeFolder(path)} onUploaded={(paths) => {
        void listing.reload();
        if (props.mode === "csv" && paths.length === 1) setPicked(paths[0]);
      }} />
      <div className="toolbar">
        <input placeholder="New folder name (a/b makes nested folders)" value={newName} onChange={(e) => setNewName(e.target.value)} className="grow" data-testid="storage-new-folder" />
        <button type="button" disabled={!newName || !!nameError} onClick={createFolder} data-testid="storage-create-folder">Create folder</button>
      </div>
      <ErrorBox message={nameError ?? createError} />
    </Modal>
  );
}

/** A text input with a Browse button that opens the picker. */
export function PathInput(props: {
  value: string;
  onChange: (v: string) => void;
  mode: "folder" | "csv";
  testId: string;
  placeholder?: string;
}) {
  const [open, setOpen] = useState(false);
  return (
    <div className="path-input">
      <input className="mono" value={props.value} placeholder={props.placeholder ?? "s3://bucket/folder/"} onChange={(e) => props.onChange(e.target.value)} data-testid={props.testId} />
      <button type="button" onClick={() => setOpen(true)} data-testid={`${props.testId}-browse`}>Browse…</button>
      {open && (
        <StoragePicker
          mode={props.mode}
          initial={props.value}
          onClose={() => setOpen(false)}
          onPick={(p) => {
            props.onChange(p);
            setOpen(false);
          }}
        />
      )}
    </div>
  );
}

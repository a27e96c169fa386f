import { useEffect, useRef, useState } from "react";
import { errorText } from "../../api/client";
import type { Suggestion } from "../../api/assist";
import type { Label, Sample } from "../../api/types";
import { SuggestionBadge } from "./Assist";
import { ErrorBox } from "../../components/ui";
import { canRedo, canUndo, historyOf, isTyping, push, redo, undo, undoKey, type History } from "../../lib/history";
import { SampleHistory } from "./SampleHistory";
import { ShortcutsDialog } from "./ShortcutsDialog";
import { shortcutKeys } from "./SoundLabeler";
import { UnsavedGuard } from "./UnsavedGuard";
import type { AnnotationBody } from "./useAnnotate";
import type { LabelChange } from "./useLabelUndo";

type Choices = Record<string, string | null>;

/**
 * Text: one label per line, chosen locally and sent with "Save Current Page" (or Enter).
 * Keyboard: ↑/↓ or J/K move the highlighted line, 1–9 label it and move on, Ctrl+Z undoes
 * the last unsaved choice (after a save, the session's undo takes saved changes back).
 */
export function TextLabeler(props: {
  samples: Sample[];
  labels: Label[];
  selected: Set<string>;
  onToggle: (id: string) => void;
  canWrite: boolean;
  save: (sample: Sample, body: AnnotationBody) => Promise<Sample>;
  onSaved: (sample: Sample) => void;
  onLabelled?: (changes: LabelChange[]) => void;
  /** The pending model suggestion of a line, if any (A accepts, R rejects the highlighted one). */
  suggestionFor?: (s: Sample) => Suggestion | undefined;
  onDecide?: (s: Suggestion, accept: boolean) => void;
  /** The whole sample: list rows carry a preview of a long text (text_truncated). */
  loadFull?: (s: Sample) => Promise<Sample>;
  /** The dataset: each line then offers its history. */
  datasetId?: string;
}) {
  const [hist, setHist] = useState<History<Choices>>(() => historyOf({}));
  const [fullText, setFullText] = useState<Record<string, string>>({});
  const choices = hist.present;
  const [cursor, setCursor] = useState(0);
  const [saving, setSaving] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [showKeys, setShowKeys] = useState(false);
  const keys = shortcutKeys(props.labels);
  const keyOf = new Map([...keys].map(([k, name]) => [name, k]));

  useEffect(() => {
    setHist(historyOf({}));
    setCursor(0);
  }, [props.samples.map((s) => s.id).join(",")]); // eslint-disable-line react-hooks/exhaustive-deps

  const changed = props.samples.filter((s) => s.id in choices && choices[s.id] !== (s.labels[0] ?? null));
  const dirty = changed.length > 0;

  const choose = (s: Sample, name: string) => {
    const value = s.id in choices ? choices[s.id] : s.labels[0] ?? null;
    setHist((h) => push(h, { ...h.present, [s.id]: value === name ? null : name }));
  };

  const savePage = async (): Promise<boolean> => {
    setSaving(true);
    setError(null);
    const done: LabelChange[] = [];
    try {
      for (const s of changed) {
        const label = choices[s.id];
        const saved = await props.save(s, { labels: label ? [label] : [] });
        done.push({ id: s.id, before: s.labels, after: saved.labels });
        props.onSaved(saved);
      }
      setHist(historyOf({}));
      return true;
    } catch (err) {
      setError(errorText(err));
      return false;
    } finally {
      if (done.length) props.onLabelled?.(done);
      setSaving(false);
    }
  };

  const live = useRef({ props, cursor, keys, choose, savePage, dirty, hist });
  live.current = { props, cursor, keys, choose, savePage, dirty, hist };
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (isTyping(e.target) || document.querySelector(".modal-backdrop")) return;
      const { props: p, cursor, keys, choose, savePage, dirty, hist } = live.current;
      const kind = undoKey(e);
      if (kind) {
        // Unsaved choices first; with none, the session's undo (LabelTab) handles the key.
        if ((kind === "undo" && canUndo(hist)) || (kind === "redo" && canRedo(hist))) {
          e.preventDefault();
          setHist((h) => (kind === "undo" ? undo(h) : redo(h)));
        }
        return;
      }
      if (e.ctrlKey || e.metaKey || e.altKey) return;
      const at = Math.min(cursor, p.samples.length - 1);
      const name = keys.get(e.key.toLowerCase());
      if (name && p.canWrite && p.samples[at]) {
        e.preventDefault();
        choose(p.samples[at], name);
        setCursor(Math.min(at + 1, p.samples.length - 1));
      } else if (/^[ar]$/i.test(e.key) && p.canWrite && p.onDecide && p.samples[at] && p.suggestionFor?.(p.samples[at]) && !(p.samples[at].id in live.current.hist.present)) {
        e.preventDefault();
        p.onDecide(p.suggestionFor(p.samples[at])!, e.key.toLowerCase() === "a");
      } else if (e.key === "ArrowDown" || e.key === "j" || e.key === "J") { e.preventDefault(); setCursor(Math.min(at + 1, p.samples.length - 1)); }
      else if (e.key === "ArrowUp" || e.key === "k" || e.key === "K") { e.preventDefault(); setCursor(Math.max(at - 1, 0)); }
      else if (e.key === "Enter" && dirty && p.canWrite) { e.preventDefault(); void savePage(); }
      else if (e.key === "?") { e.preventDefault(); setShowKeys((v) => !v); }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);

  // Keep the highlighted line in view as the keyboard moves it.
  useEffect(() => {
    document.querySelector('[data-testid="sample-item"][data-cursor="true"]')?.scrollIntoView({ block: "nearest" });
  }, [cursor]);

  return (
    <div className="text-labeler" data-testid="text-labeler">
      <p className="grid-hint muted small">
        1–9 label the highlighted line and move on · ↑/↓ or J/K move · Enter saves the page · Ctrl+Z undoes ·{" "}
        <button className="link small" onClick={() => setShowKeys(true)} data-testid="shortcuts-open">? all shortcuts</button>
      </p>
      <ul className="text-list" data-testid="sample-grid">
        {props.samples.map((s, i) => {
          const value = s.id in choices ? choices[s.id] : s.labels[0] ?? null;
          const isChanged = s.id in choices && choices[s.id] !== (s.labels[0] ?? null);
          const isCursor = i === Math.min(cursor, props.samples.length - 1);
          return (
            <li key={s.id} className={`${isChanged ? "changed" : ""}${props.selected.has(s.id) ? " selected" : ""}${isCursor ? " cursor" : ""}`}
              data-testid="sample-item" data-sample-id={s.id} data-sample-name={s.name} data-cursor={isCursor} data-choice={value ?? ""}
              onClick={() => setCursor(i)}>
              <input type="checkbox" checked={props.selected.has(s.id)} onChange={() => props.onToggle(s.id)} data-testid="sample-checkbox" aria-label="Select line" />
              <div className="text-body">
                <div className="text-content" data-testid="text-content">
                  {fullText[s.id] ?? s.text}
                  {s.text_truncated && fullText[s.id] === undefined && (
                    <>
                      …{" "}
                      <button className="link small" data-testid="text-show-all" disabled={!props.loadFull}
                        onClick={(e) => {
                          e.stopPropagation();
                          props.loadFull?.(s).then((whole) => setFullText((m) => ({ ...m, [s.id]: whole.text ?? "" })))
                            .catch((err) => setError(errorText(err)));
                        }}>
                        show all {s.text_length.toLocaleString()} characters
                      </button>
                    </>
                  )}
                </div>
                {!(s.id in choices) && props.suggestionFor?.(s) && (
                  <SuggestionBadge suggestion={props.suggestionFor(s)!} canWrite={props.canWrite} onDecide={props.onDecide} keysHint={isCursor} />
                )}
                <div className="label-buttons">
                  {props.labels.map((l) => (
                    <button key={l.name} disabled={!props.canWrite}
                      className={`label-button small${value === l.name ? " active" : ""}`}
                      style={value === l.name ? { background: l.color, borderColor: l.color, color: "#fff" } : { borderColor: l.color }}
                      onClick={() => choose(s, l.name)}
                      data-testid={`label-button-${l.name}`}>
                      {l.name}{keyOf.get(l.name) && <kbd>{keyOf.get(l.name)}</kbd>}
                    </button>
                  ))}
                </div>
                {props.datasetId && <SampleHistory datasetId={props.datasetId} sample={s} />}
              </div>
            </li>
          );
        })}
      </ul>
      {props.canWrite && (
        <div className="form-actions sticky">
          {dirty && <span className="muted small" data-testid="text-dirty">{changed.length} unsaved change{changed.length > 1 ? "s" : ""}</span>}
          <button onClick={() => setHist(historyOf({}))} disabled={!dirty || saving}>Discard</button>
          <button className="primary" onClick={() => void savePage()} disabled={!dirty || saving} data-testid="text-save-page">
            {saving ? "Saving…" : "Save Current Page"}
          </button>
        </div>
      )}
      <ErrorBox message={error} />
      <UnsavedGuard dirty={dirty} what={`${changed.length} unsaved label change${changed.length > 1 ? "s" : ""} on this page`} save={savePage} />
      {showKeys && <ShortcutsDialog kind="text" onClose={() => setShowKeys(false)} />}
    </div>
  );
}

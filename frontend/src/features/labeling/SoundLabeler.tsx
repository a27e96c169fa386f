import { useEffect, useRef, useState } from "react";
import { errorText } from "../../api/client";
import type { Suggestion } from "../../api/assist";
import type { Label, Sample } from "../../api/types";
import { SuggestionBadge } from "./Assist";
import { ErrorBox } from "../../components/ui";
import { AudioPlayer } from "./AudioPlayer";
import { LabelChips } from "./SampleGrid";
import type { AnnotationBody } from "./useAnnotate";
import type { LabelChange } from "./useLabelUndo";
import { SampleHistory } from "./SampleHistory";
import { ShortcutsDialog } from "./ShortcutsDialog";
import { isTyping } from "../../lib/history";

/** A label's key: its own shortcut, else 1–9 by position for labels without one. */
export function shortcutKeys(labels: Label[]): Map<string, string> {
  const keys = new Map<string, string>();
  for (const l of labels) if (l.shortcut) keys.set(l.shortcut.toLowerCase(), l.name);
  let n = 1;
  for (const l of labels) {
    if (l.shortcut) continue;
    while (n <= 9 && keys.has(String(n))) n++;
    if (n > 9) break;
    keys.set(String(n), l.name);
    n++;
  }
  return keys;
}

export function SoundLabeler(props: {
  samples: Sample[];
  labels: Label[];
  selected: Set<string>;
  onToggle: (id: string) => void;
  canWrite: boolean;
  save: (sample: Sample, body: AnnotationBody) => Promise<Sample>;
  onSaved: (sample: Sample) => void;
  onEdge: (direction: 1 | -1) => void;
  onLabelled?: (changes: LabelChange[]) => void;
  /** The clip in the URL, kept there as the user moves. */
  current?: string | null;
  onCurrent?: (id: string) => void;
  /** The pending model suggestion of a clip, if any (A accepts, R rejects the current one). */
  suggestionFor?: (s: Sample) => Suggestion | undefined;
  onDecide?: (s: Suggestion, accept: boolean) => void;
  /** The dataset: the current clip then offers its history. */
  datasetId?: string;
}) {
  const [index, setIndexState] = useState(() => Math.max(0, props.samples.findIndex((s) => s.id === props.current)));
  const [showKeys, setShowKeys] = useState(false);
  const setIndex = (i: number) => {
    setIndexState(i);
    const id = state.current.props.samples[i]?.id;
    if (id && id !== state.current.props.current) state.current.props.onCurrent?.(id);
  };
  const [autoPlay, setAutoPlay] = useState(true);
  const [error, setError] = useState<string | null>(null);
  const keys = shortcutKeys(props.labels);
  const keyOf = new Map([...keys].map(([k, name]) => [name, k]));
  const current = props.samples[Math.min(index, props.samples.length - 1)];
  const state = useRef({ current, keys, props });
  state.current = { current, keys, props };

  // A new page starts at its first clip, unless the URL names one on it.
  useEffect(() => {
    const i = props.samples.findIndex((s) => s.id === props.current);
    setIndexState(i >= 0 ? i : 0);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [props.samples[0]?.id]);

  const indexRef = useRef(index);
  indexRef.current = index;
  const move = (direction: 1 | -1) => {
    const next = indexRef.current + direction;
    if (next < 0 || next >= state.current.props.samples.length) state.current.props.onEdge(direction);
    else {
      indexRef.current = next;
      setIndex(next);
    }
  };

  const label = async (name: string) => {
    const s = state.current.current;
    if (!s || !state.current.props.canWrite) return;
    setError(null);
    try {
      const saved = await state.current.props.save(s, { labels: [name] });
      state.current.props.onSaved(saved);
      state.current.props.onLabelled?.([{ id: s.id, before: s.labels, after: saved.labels }]);
      move(1);
    } catch (err) {
      setError(errorText(err));
    }
  };

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (isTyping(e.target)) return;
      if (document.querySelector(".modal-backdrop")) return; // a dialog has the keyboard
      if (e.ctrlKey || e.metaKey || e.altKey) return;
      // A label's own key wins over J/K.
      const name = state.current.keys.get(e.key.toLowerCase());
      const here = state.current.current;
      const sug = here && state.current.props.suggestionFor?.(here);
      if (name) { e.preventDefault(); void label(name); }
      else if (sug && /^[ar]$/i.test(e.key) && state.current.props.canWrite && state.current.props.onDecide) {
        e.preventDefault();
        state.current.props.onDecide(sug, e.key.toLowerCase() === "a");
      }
      else if (e.key === "ArrowDown" || e.key === "ArrowRight" || e.key === "j" || e.key === "J") { e.preventDefault(); move(1); }
      else if (e.key === "ArrowUp" || e.key === "ArrowLeft" || e.key === "k" || e.key === "K") { e.preventDefault(); move(-1); }
      else if (e.key === " ") {
        e.preventDefault();
        const audio = document.querySelector<HTMLAudioElement>('[data-testid="sound-current"] audio');
        if (audio) void (audio.paused ? audio.play().catch(() => undefined) : audio.pause());
      } else if (e.key === "?") { e.preventDefault(); setShowKeys((v) => !v); }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  return (
    <div className="sound" data-testid="sound-labeler">
      {current && (
        <div className="panel sound-current" data-testid="sound-current" data-sample-name={current.name}>
          <div className="toolbar">
            <button onClick={() => move(-1)} data-testid="sound-prev">‹ Previous</button>
            <b className="mono">{current.name}</b>
            <button onClick={() => move(1)} data-testid="sound-next">Next ›</button>
            <span className="spacer" />
            <label className="small"><input type="checkbox" checked={autoPlay} onChange={(e) => setAutoPlay(e.target.checked)} /> Auto-play</label>
          </div>
          <AudioPlayer src={current.content_url} autoPlay={autoPlay} />
          {props.suggestionFor?.(current) && (
            <SuggestionBadge suggestion={props.suggestionFor(current)!} canWrite={props.canWrite} onDecide={props.onDecide} keysHint />
          )}
          <div className="label-buttons">
            {props.labels.map((l) => (
              <button key={l.name} className={`label-button${current.labels.includes(l.name) ? " active" : ""}`} style={{ borderColor: l.color }}
                disabled={!props.canWrite} onClick={() => void label(l.name)} data-testid={`label-button-${l.name}`}>
                <span className="swatch" style={{ background: l.color }} /> {l.name} {keyOf.get(l.name) && <kbd>{keyOf.get(l.name)}</kbd>}
              </button>
            ))}
          </div>
          <p className="muted small">
            Press a label's key to label this clip and move to the next; ↑/↓ or J/K move without labeling; Space plays.{" "}
            <button className="link small" onClick={() => setShowKeys(true)} data-testid="shortcuts-open">? all shortcuts</button>
          </p>
          <ErrorBox message={error} />
          {props.datasetId && <SampleHistory datasetId={props.datasetId} sample={current} />}
        </div>
      )}
      {showKeys && <ShortcutsDialog kind="sound" onClose={() => setShowKeys(false)} />}
      <ul className="sound-list" data-testid="sample-grid">
        {props.samples.map((s, i) => (
          <li key={s.id} className={`${s === current ? "current" : ""}${props.selected.has(s.id) ? " selected" : ""}`} onClick={() => setIndex(i)}
            data-testid="sample-item" data-sample-id={s.id} data-sample-name={s.name}>
            <input type="checkbox" checked={props.selected.has(s.id)} onClick={(e) => e.stopPropagation()} onChange={() => props.onToggle(s.id)} data-testid="sample-checkbox" aria-label={`Select ${s.name}`} />
            <span className="mono grow">{s.name}</span>
            {s.duration != null && <span className="muted small">{s.duration.toFixed(1)} s</span>}
            <LabelChips names={s.labels} labels={props.labels} />
            {s !== current && props.suggestionFor?.(s) && <SuggestionBadge suggestion={props.suggestionFor(s)!} canWrite={props.canWrite} onDecide={props.onDecide} />}
          </li>
        ))}
      </ul>
    </div>
  );
}

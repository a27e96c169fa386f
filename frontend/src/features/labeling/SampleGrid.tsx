import { useEffect, useRef, useState } from "react";
import type { Suggestion, SuggestedBox } from "../../api/assist";
import type { Label, Sample } from "../../api/types";
import { Modal } from "../../components/ui";
import { isTyping, undoKey } from "../../lib/history";
import { SuggestionBadge } from "./Assist";
import { SampleHistory } from "./SampleHistory";
import { ShortcutsDialog } from "./ShortcutsDialog";
import { shortcutKeys } from "./SoundLabeler";
import type { LabelMode } from "./labelMode";
import { reviewOf } from "../team/teamLogic";

export function labelColor(labels: Label[], name: string): string {
  return labels.find((l) => l.name === name)?.color || "#888";
}

export function LabelChips({ names, labels, onRemove }: { names: string[]; labels: Label[]; onRemove?: (name: string) => void }) {
  return (
    <span className="chips">
      {names.map((n) => (
        <span key={n} className="chip" style={{ borderColor: labelColor(labels, n) }} data-testid="sample-label">
          <span className="swatch" style={{ background: labelColor(labels, n) }} />
          {n}
          {onRemove && <button className="icon tiny" aria-label={`Remove ${n}`} onClick={(e) => { e.stopPropagation(); onRemove(n); }}>×</button>}
        </span>
      ))}
    </span>
  );
}

/**
 * An image, whole (never cropped), with its boxes drawn over it in image pixels: the SVG's
 * viewBox is the image's own size, so the boxes scale with it however large it is shown.
 */
export function ImageWithBoxes({ sample, labels, className, eager, suggested }: {
  sample: Sample; labels: Label[]; className?: string; eager?: boolean;
  /** A pending suggestion's boxes: drawn dashed, apart from the human ones. */
  suggested?: SuggestedBox[];
}) {
  const [size, setSize] = useState<{ w: number; h: number } | null>(sample.width && sample.height ? { w: sample.width, h: sample.height } : null);
  return (
    <div className={`boxed-image ${className ?? ""}`}>
      <img loading={eager ? "eager" : "lazy"} src={sample.content_url} alt={sample.name}
        onLoad={(e) => setSize({ w: e.currentTarget.naturalWidth, h: e.currentTarget.naturalHeight })} />
      {size && (sample.objects.length > 0 || !!suggested?.length) && (
        <svg viewBox={`0 0 ${size.w} ${size.h}`} preserveAspectRatio="xMidYMid meet" data-testid="thumb-boxes">
          {sample.objects.map((o, i) => (
            <rect key={i} x={o.bbox[0]} y={o.bbox[1]} width={o.bbox[2] - o.bbox[0]} height={o.bbox[3] - o.bbox[1]}
              fill="none" stroke={labelColor(labels, o.label)} strokeWidth={Math.max(1.5, size.w / 200)} vectorEffect="non-scaling-stroke" />
          ))}
          {suggested?.map((o, i) => (
            <rect key={`s${i}`} x={o.bbox[0]} y={o.bbox[1]} width={o.bbox[2] - o.bbox[0]} height={o.bbox[3] - o.bbox[1]}
              fill="none" stroke={labelColor(labels, o.label)} strokeWidth={1.5} strokeDasharray="5 4" vectorEffect="non-scaling-stroke"
              data-testid="suggested-box" data-label={o.label} />
          ))}
        </svg>
      )}
    </div>
  );
}

/**
 * Thumbnails for image and detection datasets. Keyboard: ←/→ or J/K move the highlight,
 * 1–9 label it (or every selected image), X selects it, Space/Enter open the large preview.
 */
export function SampleGrid(props: {
  samples: Sample[];
  labels: Label[];
  selected: Set<string>;
  onToggle: (id: string) => void;
  onOpen?: (index: number) => void;
  detection?: boolean;
  canWrite?: boolean;
  /** Image classification: label these samples with this label (a number key). */
  onLabel?: (ids: string[], name: string) => void;
  /** Single-label: a key replaces the label; multi-label: it adds or removes it. */
  mode?: LabelMode;
  /** The sample shown in the large preview (image classification). */
  preview?: string | null;
  onPreview?: (id: string | null) => void;
  /** The pending model suggestion of a sample, if any (shown dashed; A accepts, R rejects). */
  suggestionFor?: (s: Sample) => Suggestion | undefined;
  onDecide?: (s: Suggestion, accept: boolean) => void;
  /** The dataset: the large preview then offers the sample's history. */
  datasetId?: string;
}) {
  const [cursor, setCursor] = useState(0);
  const [showKeys, setShowKeys] = useState(false);
  const keys = shortcutKeys(props.labels);
  const keyOf = new Map([...keys].map(([k, name]) => [name, k]));
  const at = Math.min(cursor, Math.max(0, props.samples.length - 1));
  const previewIndex = props.preview ? props.samples.findIndex((s) => s.id === props.preview) : -1;
  const state = useRef({ props, at, keys, previewIndex });
  state.current = { props, at, keys, previewIndex };

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (isTyping(e.target) || e.ctrlKey || e.metaKey || e.altKey || undoKey(e)) return;
      const { props: p, at, keys, previewIndex } = state.current;
      const inPreview = previewIndex >= 0;
      if (document.querySelector(".modal-backdrop") && !inPreview) return;
      const here = inPreview ? previewIndex : at;
      const sample = p.samples[here];
      const move = (d: number) => {
        const next = Math.max(0, Math.min(p.samples.length - 1, here + d));
        setCursor(next);
        if (inPreview) p.onPreview?.(p.samples[next]?.id ?? null);
      };
      if (e.key === "?") { e.preventDefault(); setShowKeys((v) => !v); return; }
      const name = keys.get(e.key.toLowerCase());
      if (name && p.onLabel && p.canWrite && sample) {
        e.preventDefault();
        const ids = !inPreview && p.selected.size ? [...p.selected] : [sample.id];
        p.onLabel(ids, name);
        return;
      }
      // A label's own key wins; otherwise A / R decide the highlighted sample's suggestion.
      const suggestion = sample && p.suggestionFor?.(sample);
      if (suggestion && p.onDecide && p.canWrite && /^[ar]$/i.test(e.key)) {
        e.preventDefault();
        p.onDecide(suggestion, e.key.toLowerCase() === "a");
        return;
      }
      if (e.key === "ArrowRight" || e.key === "j" || e.key === "J") { e.preventDefault(); move(1); }
      else if (e.key === "ArrowLeft" || e.key === "k" || e.key === "K") { e.preventDefault(); move(-1); }
      else if (!inPreview && (e.key === "ArrowDown" || e.key === "ArrowUp")) {
        e.preventDefault();
        const grid = document.querySelector<HTMLElement>('[data-testid="sample-grid"]');
        const cols = grid ? getComputedStyle(grid).gridTemplateColumns.split(" ").length : 4;
        move(e.key === "ArrowDown" ? cols : -cols);
      } else if ((e.key === " " || e.key === "Enter") && sample && !inPreview) {
        e.preventDefault();
        if (p.onOpen) p.onOpen(here);
        else p.onPreview?.(sample.id);
      } else if ((e.key === "x" || e.key === "X") && sample && !inPreview) { e.preventDefault(); p.onToggle(sample.id); }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);

  const previewed = previewIndex >= 0 ? props.samples[previewIndex] : null;
  const previewSuggestion = previewed ? props.suggestionFor?.(previewed) : undefined;
  return (
    <>
      <div className="grid-hint muted small">
        {props.onLabel && props.canWrite
          ? props.mode === "multi"
            ? "Number keys add or remove a label on the highlighted image (or the selected ones); "
            : "Number keys set the label of the highlighted image (or the selected ones); "
          : ""}
        ←/→ move · Space opens {props.onOpen ? "the editor" : "a large preview"} · <button className="link small" onClick={() => setShowKeys(true)} data-testid="shortcuts-open">? all shortcuts</button>
      </div>
      <div className="sample-grid" data-testid="sample-grid">
        {props.samples.map((s, i) => {
          const names = props.detection ? [...new Set(s.objects.map((o) => o.label))] : s.labels;
          const isSelected = props.selected.has(s.id);
          const suggestion = props.suggestionFor?.(s);
          return (
            <div
              key={s.id}
              className={`sample-card${isSelected ? " selected" : ""}${i === at ? " cursor" : ""}${s.status === "missing" ? " missing" : ""}${suggestion ? " has-suggestion" : ""}`}
              data-testid="sample-item"
              data-sample-id={s.id}
              data-sample-name={s.name}
              data-cursor={i === at}
              onClick={() => { setCursor(i); if (props.onOpen) props.onOpen(i); else props.onToggle(s.id); }}
            >
              <input
                type="checkbox"
                className="sample-check"
                checked={isSelected}
                onClick={(e) => e.stopPropagation()}
                onChange={() => props.onToggle(s.id)}
                aria-label={`Select ${s.name}`}
                data-testid="sample-checkbox"
              />
              {!props.onOpen && s.status !== "missing" && (
                <button className="icon zoom" aria-label={`Preview ${s.name}`} title="Large preview (Space)"
                  onClick={(e) => { e.stopPropagation(); setCursor(i); props.onPreview?.(s.id); }} data-testid="sample-zoom">⤢</button>
              )}
              <div className="thumb">
                {s.status === "missing" ? <span className="muted small">source missing</span> : <ImageWithBoxes sample={s} labels={props.labels}
                  suggested={suggestion && "objects" in suggestion.payload ? suggestion.payload.objects : undefined} />}
              </div>
              <div className="sample-meta">
                <span className="ellipsis small" title={s.name}>{s.name}</span>
                {props.detection && s.objects.length > 0 && <span className="muted small">{s.objects.length} box{s.objects.length > 1 ? "es" : ""}</span>}
              </div>
              <LabelChips names={names} labels={props.labels} />
              {reviewOf(s).status === "rejected" && (
                <span className="rejected-note" title={`Rejected by ${reviewOf(s).by ?? "review"}`} data-testid="sample-rejected">✗ {reviewOf(s).comment}</span>
              )}
              {suggestion && <SuggestionBadge suggestion={suggestion} canWrite={!!props.canWrite} onDecide={props.onDecide} keysHint={i === at} />}
            </div>
          );
        })}
      </div>
      {previewed && (
        <Modal title={previewed.name} onClose={() => props.onPreview?.(null)} wide testId="sample-preview">
          <ImageWithBoxes sample={previewed} labels={props.labels} className="large" eager
            suggested={previewSuggestion && "objects" in previewSuggestion.payload ? previewSuggestion.payload.objects : undefined} />
          {previewSuggestion && <SuggestionBadge suggestion={previewSuggestion} canWrite={!!props.canWrite} onDecide={props.onDecide} keysHint />}
          <div className="toolbar wrap">
            <button onClick={() => props.onPreview?.(props.samples[Math.max(0, previewIndex - 1)].id)} disabled={previewIndex <= 0} data-testid="preview-prev">‹ Previous</button>
            <LabelChips names={previewed.labels} labels={props.labels} />
            <span className="spacer" />
            {props.onLabel && props.canWrite && props.labels.map((l) => (
              <button key={l.name} className={`label-button small${previewed.labels.includes(l.name) ? " active" : ""}`} style={{ borderColor: l.color }}
                onClick={() => props.onLabel!([previewed.id], l.name)} data-testid={`preview-label-${l.name}`}>
                {l.name} {keyOf.get(l.name) && <kbd>{keyOf.get(l.name)}</kbd>}
              </button>
            ))}
            <button onClick={() => props.onPreview?.(props.samples[Math.min(props.samples.length - 1, previewIndex + 1)].id)} disabled={previewIndex >= props.samples.length - 1} data-testid="preview-next">Next ›</button>
          </div>
          {props.datasetId && <SampleHistory datasetId={props.datasetId} sample={previewed} />}
        </Modal>
      )}
      {showKeys && <ShortcutsDialog kind={props.detection ? "detection" : "image"} onClose={() => setShowKeys(false)} />}
    </>
  );
}

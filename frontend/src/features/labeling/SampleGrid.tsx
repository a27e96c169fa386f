import type { Label, Sample } from "../../api/types";

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

/** Thumbnails for image and detection datasets. */
export function SampleGrid(props: {
  samples: Sample[];
  labels: Label[];
  selected: Set<string>;
  onToggle: (id: string) => void;
  onOpen?: (index: number) => void;
  detection?: boolean;
}) {
  return (
    <div className="sample-grid" data-testid="sample-grid">
      {props.samples.map((s, i) => {
        const names = props.detection ? [...new Set(s.objects.map((o) => o.label))] : s.labels;
        const isSelected = props.selected.has(s.id);
        return (
          <div
            key={s.id}
            className={`sample-card${isSelected ? " selected" : ""}${s.status === "missing" ? " missing" : ""}`}
            data-testid="sample-item"
            data-sample-id={s.id}
            data-sample-name={s.name}
            onClick={() => (props.onOpen ? props.onOpen(i) : props.onToggle(s.id))}
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
            <div className="thumb">
              {s.status === "missing" ? <span className="muted small">source missing</span> : <img loading="lazy" src={s.content_url} alt={s.name} />}
            </div>
            <div className="sample-meta">
              <span className="ellipsis small" title={s.name}>{s.name}</span>
              {props.detection && s.objects.length > 0 && <span className="muted small">{s.objects.length} box{s.objects.length > 1 ? "es" : ""}</span>}
            </div>
            <LabelChips names={names} labels={props.labels} />
          </div>
        );
      })}
    </div>
  );
}

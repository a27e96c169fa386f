import { useCallback, useEffect, useLayoutEffect, useRef, useState, type PointerEvent as RPointerEvent } from "react";
import { isTyping } from "../../../lib/history";
import {
  boxFromPoints, boxToScreen, clampPoint, fitView, flippedHandle, HANDLE_CURSORS, HANDLES, handlePoint, hitTest,
  imageToScreen, isUsableBox, moveBox, panBy, resizeBox, screenToImage, zoomAt,
  type Box, type Handle, type Point, type View,
} from "./geometry";

export interface EditorObject extends Box {
  label: string;
}

type Drag =
  | { kind: "draw"; start: Point }
  | { kind: "move"; index: number; start: Point; orig: Box }
  | { kind: "resize"; index: number; handle: Handle; orig: Box }
  | { kind: "pan"; start: Point; orig: View };

export interface BoxEditorProps {
  imageUrl: string;
  objects: EditorObject[];
  /** transient: one step of a drag (move/resize); the drag began with onGestureStart. */
  onChange: (objects: EditorObject[], opts?: { transient?: boolean }) => void;
  onGestureStart?: () => void;
  colorOf: (label: string) => string;
  newLabel: string;
  selected: number | null;
  onSelect: (index: number | null) => void;
  onPrev?: () => void;
  onNext?: () => void;
  readOnly?: boolean;
  /** A model suggestion's boxes: drawn dashed and not editable until accepted. */
  suggested?: EditorObject[];
}

// Wide (CJK) glyphs take about twice the width of Latin ones at the tag's font size.
const tagWidth = (text: string) => [...text].reduce((w, ch) => w + (ch.charCodeAt(0) > 0x2e80 ? 12 : 7), 10);


/**
 * Draw boxes by dragging; move or resize the selected one by its body or handles; wheel
 * zooms about the pointer; right/middle-drag or Shift-drag pans; ←/→ change image;
 * Delete removes the selected box. All geometry lives in geometry.ts.
 */
export function BoxEditor(props: BoxEditorProps) {
  const wrapRef = useRef<HTMLDivElement>(null);
  const svgRef = useRef<SVGSVGElement>(null);
  const [size, setSize] = useState({ w: 800, h: 520 });
  const [natural, setNatural] = useState<{ w: number; h: number } | null>(null);
  const [view, setView] = useState<View>({ scale: 1, offsetX: 0, offsetY: 0 });
  const [draft, setDraft] = useState<Box | null>(null);
  const [cursor, setCursor] = useState("crosshair");
  const drag = useRef<Drag | null>(null);
  const propsRef = useRef(props);
  propsRef.current = props;

  useLayoutEffect(() => {
    const el = wrapRef.current;
    if (!el) return;
    const ro = new ResizeObserver(([entry]) => setSize({ w: entry.contentRect.width, h: entry.contentRect.height }));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);

  // The image's own pixel size is the coordinate system of the boxes.
  useEffect(() => {
    setNatural(null);
    const img = new Image();
    img.onload = () => setNatural({ w: img.naturalWidth, h: img.naturalHeight });
    img.src = props.imageUrl;
  }, [props.imageUrl]);

  const fit = useCallback(() => {
    if (natural) setView(fitView(natural.w, natural.h, size.w, size.h));
  }, [natural, size.w, size.h]);
  useEffect(fit, [fit]);

  const toLocal = (e: { clientX: number; clientY: number }): Point => {
    const r = svgRef.current!.getBoundingClientRect();
    return { x: e.clientX - r.left, y: e.clientY - r.top };
  };

  // React's onWheel is passive; zooming needs preventDefault to keep the page still.
  useEffect(() => {
    const svg = svgRef.current;
    if (!svg) return;
    const onWheel = (e: WheelEvent) => {
      e.preventDefault();
      const at = toLocal(e);
      setView((v) => zoomAt(v, at, Math.pow(1.0015, -e.deltaY)));
    };
    svg.addEventListener("wheel", onWheel, { passive: false });
    return () => svg.removeEventListener("wheel", onWheel);
  }, []);

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (isTyping(e.target) || document.querySelector(".modal-backdrop") || e.ctrlKey || e.metaKey || e.altKey) return;
      const p = propsRef.current;
      if (e.key === "ArrowLeft" && p.onPrev) { e.preventDefault(); p.onPrev(); }
      else if (e.key === "ArrowRight" && p.onNext) { e.preventDefault(); p.onNext(); }
      else if ((e.key === "Delete" || e.key === "Backspace") && p.selected !== null && !p.readOnly) {
        e.preventDefault();
        p.onChange(p.objects.filter((_, i) => i !== p.selected));
        p.onSelect(null);
      } else if (e.key === "Escape") p.onSelect(null);
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);

  const onPointerDown = (e: RPointerEvent<SVGSVGElement>) => {
    if (!natural) return;
    const at = toLocal(e);
    svgRef.current!.setPointerCapture(e.pointerId);
    if (e.button === 1 || e.button === 2 || e.shiftKey) {
      drag.current = { kind: "pan", start: at, orig: view };
      setCursor("grabbing");
      return;
    }
    if (e.button !== 0) return;
    const hit = hitTest(props.objects, at, view, props.selected);
    if (hit && !props.readOnly) {
      props.onSelect(hit.index);
      props.onGestureStart?.();
      const orig = props.objects[hit.index];
      drag.current =
        hit.part === "body"
          ? { kind: "move", index: hit.index, start: screenToImage(at, view), orig }
          : { kind: "resize", index: hit.index, handle: hit.part, orig };
      return;
    }
    if (hit) {
      props.onSelect(hit.index);
      return;
    }
    props.onSelect(null);
    if (props.readOnly) {
      drag.current = { kind: "pan", start: at, orig: view };
      return;
    }
    const start = clampPoint(screenToImage(at, view), natural.w, natural.h);
    drag.current = { kind: "draw", start };
    setDraft(boxFromPoints(start, start));
  };

  const replace = (index: number, box: Box) =>
    props.onChange(props.objects.map((o, i) => (i === index ? { ...box, label: o.label } : o)), { transient: true });

  const onPointerMove = (e: RPointerEvent<SVGSVGElement>) => {
    const at = toLocal(e);
    const d = drag.current;
    if (!d || !natural) {
      const hit = hitTest(props.objects, at, view, props.selected);
      setCursor(hit && !props.readOnly ? HANDLE_CURSORS[hit.part] : "crosshair");
      return;
    }
    const p = screenToImage(at, view);
    if (d.kind === "pan") setView(panBy(d.orig, at.x - d.start.x, at.y - d.start.y));
    else if (d.kind === "draw") setDraft(boxFromPoints(d.start, clampPoint(p, natural.w, natural.h)));
    else if (d.kind === "move") replace(d.index, moveBox(d.orig, p.x - d.start.x, p.y - d.start.y, natural.w, natural.h));
    else {
      const current = props.objects[d.index];
      replace(d.index, resizeBox(current, d.handle, p, natural.w, natural.h));
      // Crossing the opposite edge flips the box; keep dragging the same physical corner.
      drag.current = { ...d, handle: flippedHandle(current, d.handle, p) };
    }
  };

  const onPointerUp = (e: RPointerEvent<SVGSVGElement>) => {
    const d = drag.current;
    drag.current = null;
    svgRef.current?.releasePointerCapture(e.pointerId);
    setCursor("crosshair");
    if (d?.kind === "draw" && draft) {
      setDraft(null);
      if (isUsableBox(draft, view) && props.newLabel) {
        // The new box is not selected: a label key pressed next chooses the NEXT box's label,
        // it must not relabel this one (click the box to select and relabel it).
        props.onChange([...props.objects, { ...draft, label: props.newLabel }]);
      }
    }
  };

  const zoomBy = (factor: number) => setView((v) => zoomAt(v, { x: size.w / 2, y: size.h / 2 }, factor));
  const imgScreen = natural ? boxToScreen({ xmin: 0, ymin: 0, xmax: natural.w, ymax: natural.h }, view) : null;

  return (
    <div className="box-editor">
      <div className="box-toolbar">
        <button onClick={() => zoomBy(1.25)} aria-label="Zoom in" data-testid="box-zoom-in">+</button>
        <button onClick={() => zoomBy(0.8)} aria-label="Zoom out" data-testid="box-zoom-out">−</button>
        <button onClick={fit} data-testid="box-zoom-fit">Fit</button>
        <span className="muted small" data-testid="box-zoom-level">{Math.round(view.scale * 100)}%</span>
        {natural && <span className="muted small">{natural.w}×{natural.h}px</span>}
        <span className="muted small grow right">Drag to draw · Shift/right-drag to pan · wheel to zoom · ←/→ images · Del removes</span>
      </div>
      <div className="box-stage" ref={wrapRef}>
        <svg
          ref={svgRef}
          width={size.w}
          height={size.h}
          style={{ cursor }}
          onPointerDown={onPointerDown}
          onPointerMove={onPointerMove}
          onPointerUp={onPointerUp}
          onContextMenu={(e) => e.preventDefault()}
          data-testid="box-canvas"
          data-scale={view.scale}
          data-offset-x={view.offsetX}
          data-offset-y={view.offsetY}
          data-image-width={natural?.w}
          data-image-height={natural?.h}
        >
          {imgScreen && (
            <image
              href={props.imageUrl}
              x={imgScreen.xmin}
              y={imgScreen.ymin}
              width={imgScreen.xmax - imgScreen.xmin}
              height={imgScreen.ymax - imgScreen.ymin}
              preserveAspectRatio="none"
            />
          )}
          {props.objects.map((o, i) => {
            const s = boxToScreen(o, view);
            const color = props.colorOf(o.label);
            const sel = i === props.selected;
            return (
              <g key={i} data-testid="box-rect" data-label={o.label} data-index={i} data-selected={sel}
                data-bbox={[o.xmin, o.ymin, o.xmax, o.ymax].map((v) => Math.round(v)).join(",")}>
                <rect x={s.xmin} y={s.ymin} width={s.xmax - s.xmin} height={s.ymax - s.ymin} fill={color} fillOpacity={sel ? 0.18 : 0.08} stroke={color} strokeWidth={sel ? 2.5 : 1.5} />
                <rect x={s.xmin} y={Math.max(0, s.ymin - 16)} width={tagWidth(o.label)} height={16} fill={color} />
                <text x={s.xmin + 5} y={Math.max(0, s.ymin - 16) + 12} className="box-text">{o.label}</text>
              </g>
            );
          })}
          {props.suggested?.map((o, i) => {
            const s = boxToScreen(o, view);
            return (
              <g key={`s${i}`} data-testid="suggested-box" data-label={o.label} pointerEvents="none">
                <rect x={s.xmin} y={s.ymin} width={s.xmax - s.xmin} height={s.ymax - s.ymin} fill="none" stroke={props.colorOf(o.label)} strokeWidth={2} strokeDasharray="6 4" />
                <text x={s.xmin + 4} y={s.ymax - 4} className="box-text suggested">{o.label}?</text>
              </g>
            );
          })}
          {props.selected !== null && props.objects[props.selected] && !props.readOnly &&
            HANDLES.map((h) => {
              const hp = imageToScreen(handlePoint(props.objects[props.selected!], h), view);
              return <rect key={h} className="box-handle" x={hp.x - 4} y={hp.y - 4} width={8} height={8} data-testid={`box-handle-${h}`} />;
            })}
          {draft && (() => {
            const s = boxToScreen(draft, view);
            return <rect x={s.xmin} y={s.ymin} width={s.xmax - s.xmin} height={s.ymax - s.ymin} fill="none" stroke={props.colorOf(props.newLabel)} strokeDasharray="4 3" strokeWidth={2} data-testid="box-draft" />;
          })()}
        </svg>
        {!natural && <div className="box-loading muted">Loading image…</div>}
      </div>
    </div>
  );
}

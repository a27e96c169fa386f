// Pure geometry for the box editor: image pixels ↔ screen pixels under zoom/pan, keeping
// boxes inside the image, and finding what is under the pointer. No DOM, no React.

export interface Point {
  x: number;
  y: number;
}

/** A rectangle in image pixels, always with xmin ≤ xmax and ymin ≤ ymax. */
export interface Box {
  xmin: number;
  ymin: number;
  xmax: number;
  ymax: number;
}

/** screen = image · scale + offset */
export interface View {
  scale: number;
  offsetX: number;
  offsetY: number;
}

export type Handle = "nw" | "n" | "ne" | "e" | "se" | "s" | "sw" | "w";
export const HANDLES: Handle[] = ["nw", "n", "ne", "e", "se", "s", "sw", "w"];

export const MIN_SCALE = 0.05;
export const MAX_SCALE = 40;

export function imageToScreen(p: Point, view: View): Point {
  return { x: p.x * view.scale + view.offsetX, y: p.y * view.scale + view.offsetY };
}

export function screenToImage(p: Point, view: View): Point {
  return { x: (p.x - view.offsetX) / view.scale, y: (p.y - view.offsetY) / view.scale };
}

export function boxToScreen(box: Box, view: View): Box {
  const a = imageToScreen({ x: box.xmin, y: box.ymin }, view);
  const b = imageToScreen({ x: box.xmax, y: box.ymax }, view);
  return { xmin: a.x, ymin: a.y, xmax: b.x, ymax: b.y };
}

/** The view that shows the whole image centred in the viewport with some padding. */
export function fitView(imageW: number, imageH: number, viewW: number, viewH: number, padding = 8): View {
  const availW = Math.max(1, viewW - 2 * padding);
  const availH = Math.max(1, viewH - 2 * padding);
  const scale = Math.min(availW / Math.max(1, imageW), availH / Math.max(1, imageH));
  return { scale, offsetX: (viewW - imageW * scale) / 2, offsetY: (viewH - imageH * scale) / 2 };
}

/** Zooms by factor about a screen point, which keeps showing the same image point. */
export function zoomAt(view: View, at: Point, factor: number, minScale = MIN_SCALE, maxScale = MAX_SCALE): View {
  const scale = Math.min(maxScale, Math.max(minScale, view.scale * factor));
  const anchor = screenToImage(at, view);
  return { scale, offsetX: at.x - anchor.x * scale, offsetY: at.y - anchor.y * scale };
}

export function panBy(view: View, dx: number, dy: number): View {
  return { ...view, offsetX: view.offsetX + dx, offsetY: view.offsetY + dy };
}

const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));

export function clampPoint(p: Point, width: number, height: number): Point {
  return { x: clamp(p.x, 0, width), y: clamp(p.y, 0, height) };
}

export function boxFromPoints(a: Point, b: Point): Box {
  return { xmin: Math.min(a.x, b.x), ymin: Math.min(a.y, b.y), xmax: Math.max(a.x, b.x), ymax: Math.max(a.y, b.y) };
}

/** Cuts a box to the image; a box wholly outside collapses onto the nearest edge. */
export function clampBox(box: Box, width: number, height: number): Box {
  const b = boxFromPoints({ x: box.xmin, y: box.ymin }, { x: box.xmax, y: box.ymax });
  return {
    xmin: clamp(b.xmin, 0, width),
    ymin: clamp(b.ymin, 0, height),
    xmax: clamp(b.xmax, 0, width),
    ymax: clamp(b.ymax, 0, height),
  };
}

/** Translates a box and stops it at the image edges without changing its size. */
export function moveBox(box: Box, dx: number, dy: number, width: number, height: number): Box {
  const w = Math.min(box.xmax - box.xmin, width);
  const h = Math.min(box.ymax - box.ymin, height);
  const xmin = clamp(box.xmin + dx, 0, width - w);
  const ymin = clamp(box.ymin + dy, 0, height - h);
  return { xmin, ymin, xmax: xmin + w, ymax: ymin + h };
}

/** Drags one handle to an image point (clamped); crossing the opposite edge flips the box. */
export function resizeBox(box: Box, handle: Handle, to: Point, width: number, height: number): Box {
  const p = clampPoint(to, width, height);
  let { xmin, ymin, xmax, ymax } = box;
  if (handle.includes("w")) xmin = p.x;
  if (handle.includes("e")) xmax = p.x;
  if (handle.includes("n")) ymin = p.y;
  if (handle.includes("s")) ymax = p.y;
  return boxFromPoints({ x: xmin, y: ymin }, { x: xmax, y: ymax });
}

/** After a flip the handle being dragged is now on the other side; keep dragging that corner. */
export function flippedHandle(before: Box, handle: Handle, to: Point): Handle {
  let h = handle as string;
  if (h.includes("w") && to.x > before.xmax) h = h.replace("w", "e");
  else if (h.includes("e") && to.x < before.xmin) h = h.replace("e", "w");
  if (h.includes("n") && to.y > before.ymax) h = h.replace("n", "s");
  else if (h.includes("s") && to.y < before.ymin) h = h.replace("s", "n");
  return h as Handle;
}

export function handlePoint(box: Box, handle: Handle): Point {
  const cx = (box.xmin + box.xmax) / 2;
  const cy = (box.ymin + box.ymax) / 2;
  const x = handle.includes("w") ? box.xmin : handle.includes("e") ? box.xmax : cx;
  const y = handle.includes("n") ? box.ymin : handle.includes("s") ? box.ymax : cy;
  return { x, y };
}

export function boxArea(box: Box): number {
  return Math.max(0, box.xmax - box.xmin) * Math.max(0, box.ymax - box.ymin);
}

/** Big enough to keep, measured on screen so a click does not create a box. */
export function isUsableBox(box: Box, view: View, minScreenPx = 4): boolean {
  return (box.xmax - box.xmin) * view.scale >= minScreenPx && (box.ymax - box.ymin) * view.scale >= minScreenPx;
}

export function containsPoint(box: Box, p: Point): boolean {
  return p.x >= box.xmin && p.x <= box.xmax && p.y >= box.ymin && p.y <= box.ymax;
}

export type Hit = { index: number; part: Handle | "body" };

/**
 * What lies under a screen point: the selected box's handles first (they sit on top), then
 * any box's handles, then the smallest box containing the point (so a small box inside a
 * big one stays reachable). Handle radius is in screen pixels so it works at any zoom.
 */
export function hitTest(boxes: Box[], screen: Point, view: View, selected: number | null, handleRadius = 6): Hit | null {
  const order = boxes.map((_, i) => i);
  if (selected !== null && selected >= 0 && selected < boxes.length) {
    order.splice(selected, 1);
    order.unshift(selected);
  }
  for (const index of order) {
    for (const handle of HANDLES) {
      const hp = imageToScreen(handlePoint(boxes[index], handle), view);
      if (Math.abs(hp.x - screen.x) <= handleRadius && Math.abs(hp.y - screen.y) <= handleRadius) {
        return { index, part: handle };
      }
    }
  }
  const p = screenToImage(screen, view);
  let best: Hit | null = null;
  let bestArea = Infinity;
  boxes.forEach((box, index) => {
    if (containsPoint(box, p) && boxArea(box) < bestArea) {
      best = { index, part: "body" };
      bestArea = boxArea(box);
    }
  });
  return best;
}

export const HANDLE_CURSORS: Record<Handle | "body", string> = {
  nw: "nwse-resize", se: "nwse-resize", ne: "nesw-resize", sw: "nesw-resize",
  n: "ns-resize", s: "ns-resize", e: "ew-resize", w: "ew-resize", body: "move",
};

export function toBbox(box: Box): [number, number, number, number] {
  const r = (v: number) => Math.round(v * 100) / 100;
  return [r(box.xmin), r(box.ymin), r(box.xmax), r(box.ymax)];
}

export function fromBbox(b: [number, number, number, number]): Box {
  return boxFromPoints({ x: b[0], y: b[1] }, { x: b[2], y: b[3] });
}

/** Inference answers detection boxes as [y_min, x_min, y_max, x_max]. */
export function fromDetectionBox(b: number[]): Box {
  return boxFromPoints({ x: b[1], y: b[0] }, { x: b[3], y: b[2] });
}

/** The guide: a box reaching outside the image makes the image not count as labelled. */
export function isInside(box: Box, width: number, height: number): boolean {
  return box.xmin >= 0 && box.ymin >= 0 && box.xmax <= width && box.ymax <= height;
}

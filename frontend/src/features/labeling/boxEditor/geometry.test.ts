import { describe, expect, it } from "vitest";
import {
  boxFromPoints, boxToScreen, clampBox, fitView, flippedHandle, fromBbox, fromDetectionBox, hitTest,
  imageToScreen, isInside, isUsableBox, moveBox, panBy, resizeBox, screenToImage, toBbox, zoomAt,
  type Box, type View,
} from "./geometry";

const view: View = { scale: 2, offsetX: 10, offsetY: 20 };

describe("coordinate transforms", () => {
  it("maps image to screen and back", () => {
    expect(imageToScreen({ x: 5, y: 7 }, view)).toEqual({ x: 20, y: 34 });
    expect(screenToImage({ x: 20, y: 34 }, view)).toEqual({ x: 5, y: 7 });
  });

  it("round-trips under arbitrary zoom and pan", () => {
    let v: View = { scale: 1, offsetX: 0, offsetY: 0 };
    v = zoomAt(v, { x: 123, y: 45 }, 1.7);
    v = panBy(v, -33, 12.5);
    v = zoomAt(v, { x: 7, y: 300 }, 0.4);
    const p = { x: 321.5, y: 77.25 };
    const back = screenToImage(imageToScreen(p, v), v);
    expect(back.x).toBeCloseTo(p.x, 9);
    expect(back.y).toBeCloseTo(p.y, 9);
  });

  it("transforms whole boxes", () => {
    expect(boxToScreen({ xmin: 0, ymin: 0, xmax: 10, ymax: 5 }, view)).toEqual({ xmin: 10, ymin: 20, xmax: 30, ymax: 30 });
  });

  it("fits an image centred in the viewport", () => {
    const v = fitView(200, 100, 416, 416, 8);
    expect(v.scale).toBe(2);
    expect(v.offsetX).toBe(8);
    expect(v.offsetY).toBe(108);
    const br = imageToScreen({ x: 200, y: 100 }, v);
    expect(br).toEqual({ x: 408, y: 308 });
  });
});

describe("zoom and pan", () => {
  it("keeps the image point under the cursor fixed while zooming", () => {
    const at = { x: 150, y: 90 };
    const before = screenToImage(at, view);
    const zoomed = zoomAt(view, at, 1.25);
    expect(zoomed.scale).toBeCloseTo(2.5);
    const after = screenToImage(at, zoomed);
    expect(after.x).toBeCloseTo(before.x, 9);
    expect(after.y).toBeCloseTo(before.y, 9);
  });

  it("clamps the zoom level", () => {
    expect(zoomAt(view, { x: 0, y: 0 }, 1000, 0.1, 8).scale).toBe(8);
    expect(zoomAt(view, { x: 0, y: 0 }, 0.0001, 0.1, 8).scale).toBe(0.1);
  });

  it("pans in screen pixels", () => {
    const v = panBy(view, 5, -5);
    expect(v).toEqual({ scale: 2, offsetX: 15, offsetY: 15 });
    expect(screenToImage({ x: 15, y: 15 }, v)).toEqual({ x: 0, y: 0 });
  });
});

describe("keeping boxes inside the image", () => {
  it("normalises a drag in any direction", () => {
    expect(boxFromPoints({ x: 50, y: 10 }, { x: 20, y: 40 })).toEqual({ xmin: 20, ymin: 10, xmax: 50, ymax: 40 });
  });

  it("clamps a box that sticks out", () => {
    expect(clampBox({ xmin: -10, ymin: 5, xmax: 120, ymax: 300 }, 100, 200)).toEqual({ xmin: 0, ymin: 5, xmax: 100, ymax: 200 });
  });

  it("moves a box but stops at the edges without shrinking it", () => {
    const box: Box = { xmin: 10, ymin: 10, xmax: 30, ymax: 40 };
    expect(moveBox(box, 5, 5, 100, 100)).toEqual({ xmin: 15, ymin: 15, xmax: 35, ymax: 45 });
    expect(moveBox(box, -50, 500, 100, 100)).toEqual({ xmin: 0, ymin: 70, xmax: 20, ymax: 100 });
  });

  it("resizes from a corner and clamps the dragged corner to the image", () => {
    const box: Box = { xmin: 10, ymin: 10, xmax: 30, ymax: 40 };
    expect(resizeBox(box, "se", { x: 50, y: 60 }, 100, 100)).toEqual({ xmin: 10, ymin: 10, xmax: 50, ymax: 60 });
    expect(resizeBox(box, "nw", { x: -20, y: -5 }, 100, 100)).toEqual({ xmin: 0, ymin: 0, xmax: 30, ymax: 40 });
    expect(resizeBox(box, "e", { x: 500, y: 3 }, 100, 100)).toEqual({ xmin: 10, ymin: 10, xmax: 100, ymax: 40 });
    expect(resizeBox(box, "n", { x: 999, y: 20 }, 100, 100)).toEqual({ xmin: 10, ymin: 20, xmax: 30, ymax: 40 });
  });

  it("flips when a handle crosses the opposite edge", () => {
    const box: Box = { xmin: 10, ymin: 10, xmax: 30, ymax: 40 };
    expect(resizeBox(box, "w", { x: 45, y: 0 }, 100, 100)).toEqual({ xmin: 30, ymin: 10, xmax: 45, ymax: 40 });
    expect(flippedHandle(box, "w", { x: 45, y: 0 })).toBe("e");
    expect(flippedHandle(box, "nw", { x: 0, y: 90 })).toBe("sw");
    expect(flippedHandle(box, "se", { x: 20, y: 20 })).toBe("se");
  });

  it("rejects click-sized boxes measured on screen", () => {
    const box: Box = { xmin: 0, ymin: 0, xmax: 3, ymax: 3 };
    expect(isUsableBox(box, { scale: 1, offsetX: 0, offsetY: 0 })).toBe(false);
    expect(isUsableBox(box, { scale: 2, offsetX: 0, offsetY: 0 })).toBe(true);
  });

  it("tells whether a box lies inside the image", () => {
    expect(isInside({ xmin: 0, ymin: 0, xmax: 100, ymax: 50 }, 100, 50)).toBe(true);
    expect(isInside({ xmin: 0, ymin: 0, xmax: 100.5, ymax: 50 }, 100, 50)).toBe(false);
  });
});

describe("hit testing", () => {
  const boxes: Box[] = [
    { xmin: 0, ymin: 0, xmax: 100, ymax: 100 },
    { xmin: 40, ymin: 40, xmax: 60, ymax: 60 },
  ];
  const v: View = { scale: 2, offsetX: 0, offsetY: 0 };

  it("finds a handle within the screen radius at any zoom", () => {
    expect(hitTest(boxes, { x: 203, y: 198 }, v, null)).toEqual({ index: 0, part: "se" });
    expect(hitTest(boxes, { x: 100, y: 1 }, v, null)).toEqual({ index: 0, part: "n" });
    const zoomed = zoomAt(v, { x: 0, y: 0 }, 4);
    expect(hitTest(boxes, imageToScreen({ x: 60, y: 50 }, zoomed), zoomed, null)).toEqual({ index: 1, part: "e" });
  });

  it("prefers the smallest box containing the point", () => {
    expect(hitTest(boxes, { x: 100, y: 110 }, v, null)).toEqual({ index: 1, part: "body" });
    expect(hitTest(boxes, { x: 20, y: 30 }, v, null)).toEqual({ index: 0, part: "body" });
  });

  it("checks the selected box's handles first", () => {
    const overlapping: Box[] = [
      { xmin: 0, ymin: 0, xmax: 50, ymax: 50 },
      { xmin: 50, ymin: 50, xmax: 80, ymax: 80 },
    ];
    const one: View = { scale: 1, offsetX: 0, offsetY: 0 };
    expect(hitTest(overlapping, { x: 50, y: 50 }, one, null)).toEqual({ index: 0, part: "se" });
    expect(hitTest(overlapping, { x: 50, y: 50 }, one, 1)).toEqual({ index: 1, part: "nw" });
  });

  it("misses empty space", () => {
    expect(hitTest(boxes, { x: 500, y: 500 }, v, null)).toBeNull();
  });
});

describe("bbox conversions", () => {
  it("round-trips the API's [xmin, ymin, xmax, ymax]", () => {
    expect(toBbox(fromBbox([1.234, 2, 30, 40]))).toEqual([1.23, 2, 30, 40]);
  });

  it("reads inference boxes as [y_min, x_min, y_max, x_max]", () => {
    expect(fromDetectionBox([10, 20, 30, 40])).toEqual({ xmin: 20, ymin: 10, xmax: 40, ymax: 30 });
  });
});

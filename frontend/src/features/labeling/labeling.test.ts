import { describe, expect, it } from "vitest";
import { cleanMessage } from "../serving/TestPanel";
import { sameBoxes } from "./DetectionLabeler";

const box = (label: string, xmin: number, ymin: number, xmax: number, ymax: number) => ({ label, xmin, ymin, xmax, ymax });

describe("detection autosave", () => {
  it("treats boxes the server rounded as saved", () => {
    expect(sameBoxes([box("cat", 10.2, 20, 30, 40.4)], [box("cat", 10, 20, 30, 40)])).toBe(true);
  });
  it("sees a moved, relabelled, added or removed box as a change", () => {
    const a = [box("cat", 10, 20, 30, 40)];
    expect(sameBoxes(a, [box("cat", 12, 20, 30, 40)])).toBe(false);
    expect(sameBoxes(a, [box("dog", 10, 20, 30, 40)])).toBe(false);
    expect(sameBoxes(a, [...a, box("dog", 1, 1, 5, 5)])).toBe(false);
    expect(sameBoxes(a, [])).toBe(false);
  });
});

describe("test panel errors", () => {
  it("drops Python object reprs", () => {
    expect(cleanMessage("images: not a valid image: cannot identify image file <_io.BytesIO object at 0x7f3a9c2d1e50>"))
      .toBe("images: not a valid image: cannot identify image file");
  });
});

import { describe, expect, it } from "vitest";
import { keyChange, labelModeOf } from "./labelMode";
import { pickedLabel } from "./DetectionLabeler";

describe("labelModeOf", () => {
  it("follows the project for images, single for sound and text, none for detection", () => {
    expect(labelModeOf({ type: "image_classification", multi_label: false })).toBe("single");
    expect(labelModeOf({ type: "image_classification", multi_label: true })).toBe("multi");
    expect(labelModeOf({ type: "sound_classification", multi_label: true })).toBe("single");
    expect(labelModeOf({ type: "text_classification" })).toBe("single");
    expect(labelModeOf({ type: "object_detection" })).toBeNull();
  });
});

describe("keyChange", () => {
  const cat = { id: "a", labels: ["cat"] };
  const dog = { id: "b", labels: ["dog"] };
  it("single-label: the key replaces the label (Labeled tab included)", () => {
    const c = keyChange([cat, dog], "dog", "single")!;
    expect(c.add).toEqual(["dog"]);
    expect(c.remove).toEqual([]);
    expect(c.after.map((x) => x.after)).toEqual([["dog"], ["dog"]]);
    expect(c.after[0].before).toEqual(["cat"]);
  });
  it("single-label: the label a sample already has alone changes nothing", () => {
    expect(keyChange([dog], "dog", "single")).toBeNull();
    // ...but a legacy second label goes.
    expect(keyChange([{ id: "c", labels: ["dog", "pet"] }], "dog", "single")!.after[0].after).toEqual(["dog"]);
  });
  it("multi-label: the key toggles that label", () => {
    const add = keyChange([cat, dog], "pet", "multi")!;
    expect(add.add).toEqual(["pet"]);
    expect(add.after.map((x) => x.after)).toEqual([["cat", "pet"], ["dog", "pet"]]);
    const both = [{ id: "a", labels: ["cat", "pet"] }, { id: "b", labels: ["pet"] }];
    const remove = keyChange(both, "pet", "multi")!;
    expect(remove.remove).toEqual(["pet"]);
    expect(remove.after.map((x) => x.after)).toEqual([["cat"], []]);
  });
  it("nothing chosen, nothing to do", () => {
    expect(keyChange([], "cat", "multi")).toBeNull();
  });
});

describe("detection: pickedLabel", () => {
  it("relabels the selected box only, keeping the next box's label", () => {
    expect(pickedLabel({ label: "car" }, "bus")).toEqual({ relabel: true, current: false });
    expect(pickedLabel({ label: "bus" }, "bus")).toEqual({ relabel: false, current: false });
  });
  it("with no box selected, chooses the next box's label and relabels nothing", () => {
    expect(pickedLabel(null, "bus")).toEqual({ relabel: false, current: true });
  });
});

import { describe, expect, it } from "vitest";
import { canRedo, canUndo, checkpoint, historyOf, isTyping, push, redo, replace, undo, undoKey } from "./history";

describe("history", () => {
  it("undoes and redoes pushes", () => {
    let h = historyOf([1]);
    h = push(h, [1, 2]);
    h = push(h, [1, 2, 3]);
    h = undo(h);
    expect(h.present).toEqual([1, 2]);
    expect(canRedo(h)).toBe(true);
    h = redo(h);
    expect(h.present).toEqual([1, 2, 3]);
    h = undo(undo(h));
    expect(h.present).toEqual([1]);
    expect(canUndo(h)).toBe(false);
  });
  it("a new change drops the redo branch", () => {
    let h = push(push(historyOf("a"), "b"), "c");
    h = push(undo(h), "x");
    expect(canRedo(h)).toBe(false);
    expect(undo(h).present).toBe("b");
  });
  it("one undo takes back a whole drag", () => {
    let h = historyOf({ x: 0 });
    h = checkpoint(h);
    for (let x = 1; x <= 10; x++) h = replace(h, { x });
    expect(undo(h).present).toEqual({ x: 0 });
  });
  it("a gesture that changed nothing costs no undo step", () => {
    let h = push(historyOf(1), 2);
    h = checkpoint(h); // a click on a box, no drag
    expect(undo(h).present).toBe(1);
  });
  it("reads the shortcuts", () => {
    const k = (key: string, mods: Partial<KeyboardEvent> = {}) => undoKey({ key, ctrlKey: false, metaKey: false, shiftKey: false, altKey: false, ...mods });
    expect(k("z", { ctrlKey: true })).toBe("undo");
    expect(k("Z", { ctrlKey: true, shiftKey: true })).toBe("redo");
    expect(k("z", { metaKey: true })).toBe("undo");
    expect(k("y", { ctrlKey: true })).toBe("redo");
    expect(k("z")).toBe(null);
  });
});

describe("isTyping", () => {
  const el = (tagName: string, extra: Record<string, unknown> = {}) => ({ tagName, ...extra }) as unknown as EventTarget;
  it("gives keys to text fields", () => {
    expect(isTyping(el("INPUT", { type: "text" }))).toBe(true);
    expect(isTyping(el("INPUT", { type: "" }))).toBe(true);
    expect(isTyping(el("INPUT", { type: "search" }))).toBe(true);
    expect(isTyping(el("TEXTAREA"))).toBe(true);
    expect(isTyping(el("SELECT"))).toBe(true);
    expect(isTyping(el("DIV", { isContentEditable: true }))).toBe(true);
  });
  it("leaves the arrow keys to a slider and a radio group", () => {
    expect(isTyping(el("INPUT", { type: "range" }))).toBe(true);
    expect(isTyping(el("INPUT", { type: "radio" }))).toBe(true);
  });
  it("keeps shortcuts alive after a click on a checkbox or a button", () => {
    expect(isTyping(el("INPUT", { type: "checkbox" }))).toBe(false);
    expect(isTyping(el("BUTTON"))).toBe(false);
    expect(isTyping(el("DIV"))).toBe(false);
    expect(isTyping(null)).toBe(false);
  });
});

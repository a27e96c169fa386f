// Undo/redo as a pure value: the editors keep one in state and the tests drive it directly.

export interface History<T> {
  past: T[];
  present: T;
  future: T[];
}

const LIMIT = 200;
const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

export function historyOf<T>(present: T): History<T> {
  return { past: [], present, future: [] };
}

/** A new state that Ctrl+Z can take back; an unchanged value records nothing. */
export function push<T>(h: History<T>, next: T): History<T> {
  if (same(next, h.present)) return h;
  return { past: [...h.past.slice(-LIMIT + 1), h.present], present: next, future: [] };
}

/**
 * Marks where a gesture (a drag) starts: the moves that follow replace() the present, and
 * one undo takes the whole gesture back.
 */
export function checkpoint<T>(h: History<T>): History<T> {
  return { past: [...h.past.slice(-LIMIT + 1), h.present], present: h.present, future: [] };
}

export function replace<T>(h: History<T>, next: T): History<T> {
  return { ...h, present: next };
}

/** Skips entries equal to the present (a gesture that changed nothing). */
export function undo<T>(h: History<T>): History<T> {
  const past = [...h.past];
  while (past.length) {
    const prev = past.pop()!;
    if (!same(prev, h.present)) return { past, present: prev, future: [h.present, ...h.future] };
  }
  return { ...h, past };
}

export function redo<T>(h: History<T>): History<T> {
  if (!h.future.length) return h;
  const [next, ...future] = h.future;
  return { past: [...h.past, h.present], present: next, future };
}

export const canUndo = <T,>(h: History<T>) => h.past.some((p) => !same(p, h.present));
export const canRedo = <T,>(h: History<T>) => h.future.length > 0;

/** Ctrl/Cmd+Z → "undo", Ctrl/Cmd+Shift+Z or Ctrl+Y → "redo". */
export function undoKey(e: Pick<KeyboardEvent, "key" | "ctrlKey" | "metaKey" | "shiftKey" | "altKey">): "undo" | "redo" | null {
  if (!(e.ctrlKey || e.metaKey) || e.altKey) return null;
  const k = e.key.toLowerCase();
  if (k === "z") return e.shiftKey ? "redo" : "undo";
  if (k === "y" && !e.shiftKey) return "redo";
  return null;
}

// Inputs that take no keys of their own: a click leaves them focused, and the page's shortcuts must
// keep working. A slider (range) and a radio group use the arrow keys, so they keep them.
const KEYLESS_INPUTS = new Set(["checkbox", "button", "submit", "reset", "color", "file", "image"]);

/** Keys typed into a field belong to the field (a checkbox or a button is not a field). */
export function isTyping(t: EventTarget | null): boolean {
  const el = t as { tagName?: unknown; type?: unknown; isContentEditable?: unknown } | null;
  if (!el || typeof el.tagName !== "string") return false;
  const tag = el.tagName.toUpperCase();
  if (tag === "INPUT") return !KEYLESS_INPUTS.has(String(el.type || "text").toLowerCase());
  return tag === "TEXTAREA" || tag === "SELECT" || el.isContentEditable === true;
}

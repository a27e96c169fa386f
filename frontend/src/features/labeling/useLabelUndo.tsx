import { useCallback, useEffect, useRef, useState } from "react";
import { errorText } from "../../api/client";
import { datasetsApi } from "../../api/datasets";
import { isTyping, undoKey } from "../../lib/history";

/** One sample's labels before and after one user action. */
export interface LabelChange {
  id: string;
  before: string[];
  after: string[];
}

const sameSet = (a: string[], b: string[]) => a.length === b.length && a.every((x) => b.includes(x));

/**
 * Ctrl+Z / Ctrl+Shift+Z for the label changes of this labeling session (image, sound and
 * text). An undo writes the earlier labels back with If-Match on the sample's current
 * revision; a sample someone changed since is left alone and reported, never overwritten.
 */
export function useLabelUndo(datasetId: string, onApplied: () => void, { enabled = true } = {}) {
  const [done, setDone] = useState<LabelChange[][]>([]);
  const [undone, setUndone] = useState<LabelChange[][]>([]);
  const [message, setMessage] = useState<string | null>(null);
  const busy = useRef(false);
  const state = useRef({ done, undone, onApplied });
  state.current = { done, undone, onApplied };

  const record = useCallback((changes: LabelChange[]) => {
    const real = changes.filter((c) => !sameSet(c.before, c.after));
    if (!real.length) return;
    setDone((d) => [...d.slice(-99), real]);
    setUndone([]);
  }, []);

  const apply = async (changes: LabelChange[], to: "before" | "after"): Promise<number> => {
    let skipped = 0;
    for (const c of changes) {
      const current = await datasetsApi.sample(datasetId, c.id);
      const expected = to === "before" ? c.after : c.before;
      if (!sameSet(current.labels, expected)) {
        skipped++;
        continue;
      }
      await datasetsApi.annotate(datasetId, current, { labels: c[to] });
    }
    return skipped;
  };

  const step = useCallback(async (kind: "undo" | "redo") => {
    if (busy.current) return;
    const { done, undone } = state.current;
    const changes = kind === "undo" ? done.at(-1) : undone.at(-1);
    if (!changes) {
      setMessage(kind === "undo" ? "Nothing to undo." : "Nothing to redo.");
      return;
    }
    busy.current = true;
    try {
      const skipped = await apply(changes, kind === "undo" ? "before" : "after");
      if (kind === "undo") {
        setDone((d) => d.slice(0, -1));
        setUndone((u) => [...u, changes]);
      } else {
        setUndone((u) => u.slice(0, -1));
        setDone((d) => [...d, changes]);
      }
      const n = changes.length - skipped;
      setMessage(
        `${kind === "undo" ? "Undone" : "Redone"}: labels of ${n} sample${n === 1 ? "" : "s"}` +
          (skipped ? `; ${skipped} changed by someone else meanwhile, left as they are` : "") + ".",
      );
      state.current.onApplied();
    } catch (err) {
      setMessage(`Could not ${kind}: ${errorText(err)}`);
    } finally {
      busy.current = false;
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [datasetId]);

  useEffect(() => {
    if (!enabled) return;
    const onKey = (e: KeyboardEvent) => {
      const kind = undoKey(e);
      if (!kind || isTyping(e.target) || e.defaultPrevented || document.querySelector(".modal-backdrop")) return;
      e.preventDefault();
      void step(kind);
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [enabled, step]);

  useEffect(() => {
    if (!message) return;
    const t = window.setTimeout(() => setMessage(null), 6000);
    return () => window.clearTimeout(t);
  }, [message]);

  const toast = message ? <div className="undo-toast" role="status" data-testid="undo-toast">{message}</div> : null;
  return { record, undo: () => step("undo"), redo: () => step("redo"), canUndo: done.length > 0, canRedo: undone.length > 0, toast };
}

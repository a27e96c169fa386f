import { useState, type DragEvent } from "react";

/** True when a drag carries files from the desktop (not text or an element of the page). */
export function carriesFiles(types: readonly string[] | DOMStringList | undefined): boolean {
  return !!types && Array.from(types as ArrayLike<string>).includes("Files");
}

/**
 * Files dropped anywhere on an element (the labeling page): ``onFiles`` gets them. A drop
 * a child handled already (a dialog's own drop zone calls preventDefault) is left to it.
 */
export function useFileDrop(enabled: boolean, onFiles: (files: File[]) => void) {
  const [over, setOver] = useState(false);
  const handlers = {
    onDragOver: (e: DragEvent) => {
      if (!enabled || e.defaultPrevented || !carriesFiles(e.dataTransfer?.types)) return;
      e.preventDefault();
      e.dataTransfer.dropEffect = "copy";
      setOver(true);
    },
    onDragLeave: (e: DragEvent) => {
      if (!(e.relatedTarget instanceof Node && e.currentTarget.contains(e.relatedTarget))) setOver(false);
    },
    onDrop: (e: DragEvent) => {
      setOver(false);
      if (!enabled || e.defaultPrevented) return;
      const files = [...(e.dataTransfer?.files ?? [])];
      if (!files.length) return;
      e.preventDefault();
      onFiles(files);
    },
  };
  return { over: enabled && over, handlers };
}

// What a label key (or a label button) does to samples, by the project's label mode: pure, so
// vitest drives it and the grid, the preview and the selection panel all behave the same.

import type { Project } from "../../api/types";

export type LabelMode = "single" | "multi";

/** Image classification is single- or multi-label by its project; sound and text are single-label. */
export function labelModeOf(project: Pick<Project, "type"> & { multi_label?: boolean }): LabelMode | null {
  if (project.type === "image_classification") return project.multi_label ? "multi" : "single";
  if (project.type === "sound_classification" || project.type === "text_classification") return "single";
  return null; // detection labels boxes; predictive analytics has a label column
}

export interface KeyChange {
  /** The batch request (datasets' annotations/batch). */
  add: string[];
  remove: string[];
  /** Each sample's labels afterwards (for undo). */
  after: { id: string; before: string[]; after: string[] }[];
}

/**
 * Single-label: the key REPLACES each sample's label (nothing to do when every sample has
 * exactly that label already). Multi-label: the key toggles that label — removed when every
 * sample has it, else added where missing.
 */
export function keyChange(samples: { id: string; labels: string[] }[], name: string, mode: LabelMode): KeyChange | null {
  if (!samples.length) return null;
  if (mode === "single") {
    if (samples.every((s) => s.labels.length === 1 && s.labels[0] === name)) return null;
    return { add: [name], remove: [], after: samples.map((s) => ({ id: s.id, before: s.labels, after: [name] })) };
  }
  const all = samples.every((s) => s.labels.includes(name));
  return {
    add: all ? [] : [name],
    remove: all ? [name] : [],
    after: samples.map((s) => ({
      id: s.id, before: s.labels, after: all ? s.labels.filter((l) => l !== name) : [...new Set([...s.labels, name])],
    })),
  };
}

export const modeTitle = (mode: LabelMode) => (mode === "single" ? "Single-label" : "Multi-label");
export const modeHint = (mode: LabelMode) =>
  mode === "single" ? "one label per sample: a label key replaces it" : "several labels per sample: a label key adds or removes it";

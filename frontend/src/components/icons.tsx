import type { ProjectType } from "../api/types";

// Inline SVG icons: no icon font or emoji, so they render the same everywhere.
const PATHS: Record<ProjectType | "folder" | "file", string> = {
  image_classification: "M3 5h18v14H3z M3 16l5-5 4 4 3-3 6 6 M15.5 9.5a1.5 1.5 0 1 0 0.01 0",
  object_detection: "M4 4h6 M4 4v6 M20 4h-6 M20 4v6 M4 20h6 M4 20v-6 M20 20h-6 M20 20v-6 M9 9h6v6H9z",
  predictive_analytics: "M4 20V4 M4 20h16 M7 15l4-4 3 3 5-6",
  sound_classification: "M4 10v4 M8 7v10 M12 4v16 M16 8v8 M20 11v2",
  text_classification: "M4 6h16 M4 10h16 M4 14h10 M4 18h7",
  folder: "M3 6h6l2 2h10v11H3z",
  file: "M6 3h8l4 4v14H6z M14 3v4h4",
};

export function Icon({ name, size = 18 }: { name: keyof typeof PATHS; size?: number }) {
  return (
    <svg width={size} height={size} viewBox="0 0 24 24" fill="none" stroke="currentColor" strokeWidth={1.8} strokeLinecap="round" strokeLinejoin="round" aria-hidden>
      <path d={PATHS[name]} />
    </svg>
  );
}

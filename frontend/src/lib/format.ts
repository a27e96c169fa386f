import type { ProjectType } from "../api/types";

export const PROJECT_TYPES: { type: ProjectType; title: string; blurb: string }[] = [
  { type: "image_classification", title: "Image Classification", blurb: "Tell what an image shows, e.g. which kind of flower." },
  { type: "object_detection", title: "Object Detection", blurb: "Find and box every object of interest in an image." },
  { type: "predictive_analytics", title: "Predictive Analytics", blurb: "Predict a column of a CSV table: a class or a number." },
  { type: "sound_classification", title: "Sound Classification", blurb: "Recognise the kind of sound in a WAV clip." },
  { type: "text_classification", title: "Text Classification", blurb: "Sort lines of text into categories, any language." },
];

export function typeTitle(type: ProjectType | string): string {
  return PROJECT_TYPES.find((t) => t.type === type)?.title ?? type;
}

export function formatDate(iso: string | null | undefined): string {
  if (!iso) return "—";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleString(undefined, { year: "numeric", month: "short", day: "2-digit", hour: "2-digit", minute: "2-digit" });
}

export function formatNumber(value: unknown, digits = 3): string {
  if (typeof value !== "number" || Number.isNaN(value)) return value === null || value === undefined ? "—" : String(value);
  if (Number.isInteger(value)) return String(value);
  return value.toFixed(digits);
}

export function formatPercent(value: unknown): string {
  return typeof value === "number" ? `${(value * 100).toFixed(1)}%` : "—";
}

/** "1h 05m" / "4m 09s" / "expired" for a countdown to an ISO time. */
export function timeLeft(until: string | null, now: number): string | null {
  if (!until) return null;
  const ms = new Date(until).getTime() - now;
  if (Number.isNaN(ms)) return null;
  if (ms <= 0) return "due now";
  const totalSeconds = Math.floor(ms / 1000);
  const h = Math.floor(totalSeconds / 3600);
  const m = Math.floor((totalSeconds % 3600) / 60);
  const s = totalSeconds % 60;
  if (h > 0) return `${h}h ${String(m).padStart(2, "0")}m`;
  return `${m}m ${String(s).padStart(2, "0")}s`;
}

/** "not_started" → "Not Started", as the guide writes statuses. */
export function titleCase(text: string): string {
  return text.split("_").map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join(" ");
}

export function humanize(text: string): string {
  const s = text.replace(/_/g, " ");
  return s.charAt(0).toUpperCase() + s.slice(1);
}

import type { ProjectType } from "../api/types";
import { formatBytes } from "./upload";

export { formatBytes };

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

/** An axis tick in at most ~6 characters: 58979.3 → "59.0k", 0.8123 → "0.812", 1.2e6 → "1.20M". */
export function formatAxis(value: number): string {
  const a = Math.abs(value);
  if (a >= 1e9) return `${(value / 1e9).toFixed(2)}G`;
  if (a >= 1e6) return `${(value / 1e6).toFixed(2)}M`;
  if (a >= 1e4) return `${(value / 1e3).toFixed(1)}k`;
  if (a >= 100) return value.toFixed(0);
  if (a >= 10) return value.toFixed(1);
  return value.toFixed(3);
}

/** Metrics where less is better, for reports that do not say (older backends). */
const LOWER_IS_BETTER = new Set(["rmse", "mae", "mse", "log_loss"]);

export function higherIsBetter(metric: string | undefined, said?: boolean): boolean {
  if (typeof said === "boolean") return said;
  return !(metric && LOWER_IS_BETTER.has(metric.toLowerCase()));
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

/** Seconds as people read them: "45 s", "3 min 05 s", "2 h 10 min". */
export function formatDuration(seconds: number | null | undefined): string {
  if (typeof seconds !== "number" || !Number.isFinite(seconds) || seconds < 0) return "—";
  if (seconds < 10) return `${seconds.toFixed(1)} s`;
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (h > 0) return `${h} h ${String(m).padStart(2, "0")} min`;
  return `${m} min ${String(s % 60).padStart(2, "0")} s`;
}

const QUOTA_NAMES: Record<string, string> = {
  max_projects: "Projects",
  max_storage_bytes: "Storage",
  max_concurrent_trainings: "Concurrent trainings",
  max_running_services: "Running services",
  max_training_minutes_per_month: "Training minutes this month",
};

export function quotaName(code: string): string {
  return QUOTA_NAMES[code] ?? humanize(code.replace(/^max_/, ""));
}

/** A quota's figure in its unit: bytes for storage, minutes rounded, null = no limit. */
export function quotaValue(code: string, value: number | null | undefined): string {
  if (value === null || value === undefined) return "Unlimited";
  if (/bytes/.test(code)) return formatBytes(value);
  if (/minutes/.test(code)) return `${Number.isInteger(value) ? value : value.toFixed(1)} min`;
  return Number.isInteger(value) ? String(value) : value.toFixed(1);
}

const PARAM_NAMES: Record<string, string> = {
  max_minutes: "Maximum training time",
  train_ratio: "Training share",
  preference: "Preference",
  incremental_from: "Incremental from",
  dataset_version: "Dataset version",
  flavor: "Flavor",
};

export function paramName(key: string): string {
  return PARAM_NAMES[key] ?? humanize(key);
}

/** A training parameter for people: codes humanized, null as a dash, ratios and minutes with units. */
export function paramValue(key: string, value: unknown): string {
  if (value === null || value === undefined || value === "") return "—";
  if (typeof value === "boolean") return value ? "Yes" : "No";
  if (typeof value === "number") {
    if (key === "train_ratio") return formatPercent(value);
    if (key === "max_minutes") return formatDuration(value * 60);
    if (/seconds$/.test(key)) return formatDuration(value);
    return formatNumber(value);
  }
  if (typeof value === "string") return /^[a-z]+(_[a-z0-9]+)+$/.test(value) ? humanize(value) : value;
  if (typeof value === "object" && value && "name" in value) return String((value as { name: unknown }).name);
  return JSON.stringify(value);
}

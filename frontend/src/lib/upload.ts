// Client-side upload rules, shown before the upload and enforced before sending.
import type { ProjectType } from "../api/types";

const MB = 1024 * 1024;

export interface UploadRules {
  extensions: string[];
  maxFileBytes: number;
  maxRequestBytes: number;
  accept: string;
}

export function uploadRules(type: ProjectType): UploadRules {
  switch (type) {
    case "image_classification":
      return { extensions: ["jpg", "jpeg", "png", "bmp", "txt"], maxFileBytes: 5 * MB, maxRequestBytes: 8 * MB, accept: ".jpg,.jpeg,.png,.bmp,.txt" };
    case "object_detection":
      return { extensions: ["jpg", "jpeg", "png", "bmp", "xml"], maxFileBytes: 5 * MB, maxRequestBytes: 8 * MB, accept: ".jpg,.jpeg,.png,.bmp,.xml" };
    case "sound_classification":
      return { extensions: ["wav"], maxFileBytes: 4 * MB, maxRequestBytes: 8 * MB, accept: ".wav" };
    case "text_classification":
      return { extensions: ["txt", "csv"], maxFileBytes: 8 * MB, maxRequestBytes: 8 * MB, accept: ".txt,.csv" };
    case "predictive_analytics":
      return { extensions: ["csv"], maxFileBytes: 8 * MB, maxRequestBytes: 8 * MB, accept: ".csv" };
  }
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < MB) return `${(bytes / 1024).toFixed(1)} KB`;
  if (bytes < 1024 * MB) return `${(bytes / MB).toFixed(1)} MB`;
  return `${(bytes / (1024 * MB)).toFixed(2)} GB`;
}

export interface FileLike {
  name: string;
  size: number;
}

export function checkFile(file: FileLike, rules: UploadRules): string | null {
  const ext = file.name.includes(".") ? file.name.split(".").pop()!.toLowerCase() : "";
  if (!rules.extensions.includes(ext)) return `Unsupported type; allowed: ${rules.extensions.join(", ")}.`;
  if (/[\u4e00-\u9fff+ \t]/.test(file.name)) return "File names may not contain Chinese characters, +, spaces or tabs.";
  if (file.size > rules.maxFileBytes) return `Larger than ${formatBytes(rules.maxFileBytes)}.`;
  if (file.size === 0) return "Empty file.";
  return null;
}

/** Groups accepted files into requests that each stay within the per-request limit. */
/** Files per upload request, as the SDK sends them (the server takes up to 1,000). */
export const MAX_FILES_PER_REQUEST = 200;

export function planBatches<T extends FileLike>(
  files: T[],
  maxRequestBytes: number,
  maxFiles: number = MAX_FILES_PER_REQUEST,
): T[][] {
  const batches: T[][] = [];
  let current: T[] = [];
  let size = 0;
  for (const file of files) {
    if (current.length && (size + file.size > maxRequestBytes || current.length >= maxFiles)) {
      batches.push(current);
      current = [];
      size = 0;
    }
    current.push(file);
    size += file.size;
  }
  if (current.length) batches.push(current);
  return batches;
}

// ---------------------------------------------------------------- storage uploads

/** What POST /storage/objects takes (the API's rules, checked here first to spare the upload). */
export const STORAGE_UPLOAD = { extensions: ["csv"], maxFileBytes: 8 * MB, accept: ".csv,text/csv" };

/** The API's reason for refusing this file, or null; the server checks again and may refuse more. */
export function checkStorageFile(file: FileLike, maxFileBytes = STORAGE_UPLOAD.maxFileBytes): string | null {
  const name = file.name;
  if (name.startsWith(".") || /[\\/:*?"<>|\u0000-\u001f\u007f]/.test(name)) {
    return 'file name cannot start with "." or contain control characters or \\/:*?"<>|';
  }
  const ext = name.includes(".") ? name.split(".").pop()!.toLowerCase() : "";
  if (!STORAGE_UPLOAD.extensions.includes(ext)) return `only ${STORAGE_UPLOAD.extensions.map((e) => "." + e).join(", ")} files can be put here`;
  if (file.size === 0) return "file is empty (0 bytes)";
  if (file.size > maxFileBytes) return `file is ${formatBytes(file.size)}, larger than the ${formatBytes(maxFileBytes)} allowed per request`;
  return null;
}

/**
 * "Upload a new CSV": the file replaces the dataset's CSV, so it is stored under the CSV's own
 * name whatever the local file is called; only its type and size matter here.
 */
export function checkReplacementCsv(file: FileLike, maxFileBytes = STORAGE_UPLOAD.maxFileBytes): string | null {
  const ext = file.name.includes(".") ? file.name.split(".").pop()!.toLowerCase() : "";
  if (!STORAGE_UPLOAD.extensions.includes(ext)) return "only a .csv file can replace the dataset's CSV";
  if (file.size === 0) return "file is empty (0 bytes)";
  if (file.size > maxFileBytes) return `file is ${formatBytes(file.size)}, larger than the ${formatBytes(maxFileBytes)} allowed per request`;
  return null;
}

/** "s3://bucket/a/b/data.csv" -> "data.csv". */
export function storageBaseName(path: string): string {
  const parts = path.replace(/\/+$/, "").split("/");
  return parts[parts.length - 1] || path;
}

/** Where a file dropped in ``folder`` goes: s3://bucket/folder/ + its name. */
export function storageTarget(folder: string, name: string): string {
  const f = folder.trim().replace(/\/+$/, "");
  return `${f}/${name}`;
}

export type FileUploadStatus = "waiting" | "uploading" | "done" | "refused";

export interface FileUpload {
  name: string;
  size: number;
  status: FileUploadStatus;
  sent: number;
  reason?: string;
}

/** The list shown while files upload one by one: a file the rules refuse never leaves the browser. */
export function planFileUploads(files: FileLike[], check: (f: FileLike) => string | null): FileUpload[] {
  return files.map((f) => {
    const reason = check(f);
    return { name: f.name, size: f.size, sent: 0, status: reason ? "refused" : "waiting", ...(reason ? { reason } : {}) };
  });
}

/** Overall progress in bytes of the files that are (or were) sent, and the tallies. */
export function uploadTotals(items: FileUpload[]): { progress: number; done: number; refused: number; pending: number } {
  const sending = items.filter((i) => i.status !== "refused" || i.sent > 0);
  const total = sending.reduce((s, i) => s + i.size, 0);
  const sent = sending.reduce((s, i) => s + (i.status === "done" || i.status === "refused" ? i.size : Math.min(i.sent, i.size)), 0);
  return {
    progress: total ? sent / total : 1,
    done: items.filter((i) => i.status === "done").length,
    refused: items.filter((i) => i.status === "refused").length,
    pending: items.filter((i) => i.status === "waiting" || i.status === "uploading").length,
  };
}

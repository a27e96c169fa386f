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
export function planBatches<T extends FileLike>(files: T[], maxRequestBytes: number): T[][] {
  const batches: T[][] = [];
  let current: T[] = [];
  let size = 0;
  for (const file of files) {
    if (current.length && size + file.size > maxRequestBytes) {
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

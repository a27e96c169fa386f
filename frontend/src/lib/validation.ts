// The guide's input rules, as pure functions that return a reason or null.
import type { ProjectType } from "../api/types";

export const PROJECT_NAME_MAX = 20;
export const LABEL_NAME_MAX = 32;
export const STORAGE_PATH_MAX = 1023;

export function validateProjectName(name: string): string | null {
  if (!name) return "Enter a name.";
  if (name.length > PROJECT_NAME_MAX) return `At most ${PROJECT_NAME_MAX} characters.`;
  if (!/^[A-Za-z]/.test(name)) return "Must start with a letter.";
  if (!/^[A-Za-z0-9_-]+$/.test(name)) return "Only letters, digits, _ and - are allowed.";
  return null;
}

/** Dataset names follow the project name rules. */
export const validateDatasetName = validateProjectName;

export function validateLabelName(name: string): string | null {
  if (!name) return "Enter a label name.";
  if ([...name].length > LABEL_NAME_MAX) return `At most ${LABEL_NAME_MAX} characters.`;
  if (!/^[\p{L}\p{N}_-]+$/u.test(name)) return "Only letters (Chinese included), digits, _ and - are allowed.";
  return null;
}

export function validateColor(color: string | undefined): string | null {
  if (!color) return "Pick a color.";
  if (!/^#[0-9a-fA-F]{6}$/.test(color)) return "Use a hex color like #1f77b4.";
  return null;
}

export function labelsNeedColor(type: ProjectType): boolean {
  return type === "object_detection" || type === "text_classification";
}

export interface LabelRow {
  name: string;
  color: string;
}

/** One reason per row (or null), plus duplicates flagged on the later row. */
export function validateLabelSet(rows: LabelRow[], needColor: boolean): (string | null)[] {
  const seen = new Set<string>();
  return rows.map((row) => {
    const nameError = validateLabelName(row.name);
    if (nameError) return nameError;
    if (seen.has(row.name)) return "Duplicate label name.";
    seen.add(row.name);
    if (needColor) return validateColor(row.color);
    return null;
  });
}

/** "s3://bucket/a/b" → "s3://bucket/a/b/" so prefix comparisons are on whole folders. */
export function normalizeFolder(path: string): string {
  const trimmed = path.trim().replace(/\/+$/, "");
  return trimmed ? `${trimmed}/` : "";
}

export function validateStoragePath(path: string): string | null {
  if (!path.trim()) return "Choose a path.";
  if (!/^s3:\/\/[^/]+/.test(path.trim())) return "The path must start with s3://bucket/.";
  if (path.length > STORAGE_PATH_MAX) return `At most ${STORAGE_PATH_MAX} characters.`;
  return null;
}

export function validateOutputPath(input: string, output: string): string | null {
  const basic = validateStoragePath(output);
  if (basic) return basic;
  const inNorm = normalizeFolder(input);
  const outNorm = normalizeFolder(output);
  if (!inNorm) return null;
  if (outNorm === inNorm) return "The output path must differ from the input path.";
  if (outNorm.startsWith(inNorm)) return "The output path must not lie under the input path.";
  return null;
}

/** Predictive analytics: a CSV file inside a folder (not the bucket root), plain name. */
export function validateCsvPath(path: string): string | null {
  const basic = validateStoragePath(path);
  if (basic) return basic;
  const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(path.trim());
  if (!match) return "Choose a CSV file inside a folder.";
  const parts = match[2].split("/");
  if (parts.length < 2 || parts.some((p) => !p)) return "The CSV file must be in a folder, not the bucket root.";
  const file = parts[parts.length - 1];
  if (!/\.csv$/i.test(file)) return "Choose a .csv file.";
  if (!/^[A-Za-z0-9_-]+\.csv$/i.test(file)) return "The file name may use only letters, digits, - and _.";
  return null;
}

/** A new folder name typed in the picker; "a/b/c" makes nested folders. */
export function validateFolderName(name: string, parent: string): string | null {
  if (!name) return "Enter a folder name.";
  if (/[\\:*?"<>|]/.test(name)) return 'A folder name may not contain \\ : * ? " < > |.';
  if (/^[./]|[./]$/.test(name)) return "A folder name may not start or end with . or /.";
  if (name.split("/").some((p) => !p)) return "Empty folder name between slashes.";
  if ((normalizeFolder(parent) + name + "/").length > STORAGE_PATH_MAX)
    return `The full path must be at most ${STORAGE_PATH_MAX} characters.`;
  return null;
}

export function validateRange(value: number, min: number, max: number, integer = false): string | null {
  if (Number.isNaN(value)) return "Enter a number.";
  if (integer && !Number.isInteger(value)) return "Enter a whole number.";
  if (value < min || value > max) return `Between ${min} and ${max}.`;
  return null;
}

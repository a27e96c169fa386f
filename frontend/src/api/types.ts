// The console's API types, derived from the generated OpenAPI types (schema.d.ts, written by
// frontend/scripts/gen-types.sh from /api/schema/). Only what the schema cannot say is
// narrowed here: enums the serializers expose as plain strings, and the shapes inside
// JSON fields (evaluation, boxes, job counts), which the schema types as `unknown`.
import type { components } from "./schema";

type S = components["schemas"];
/** T with the listed keys replaced by the shapes in R. */
export type Refine<T, R> = Omit<T, keyof R> & R;

export type ProjectType = S["TypeEnum"];
export type Role = S["RoleEnum"];
export type LabelType = S["LabelTypeEnum"];
export type VersionStatus = S["VersionStatusEnum"];
export type ServiceStatus = S["ServiceStatusEnum"];
export type Preference = S["PreferenceEnum"];

/** A DRF page; the generated Paginated*List types all have this shape. */
export interface Page<T> {
  count: number;
  /** true when count is an estimate (a very large list): follow next, do not compute pages from it */
  count_is_estimate?: boolean;
  next?: string | null;
  previous?: string | null;
  results: T[];
}

export type Me = S["Me"];
export type PasswordChange = S["PasswordChangeRequest"];

export type DatasetRef = Refine<S["DatasetSummary"], { type: ProjectType }>;
export type VersionSummary = Refine<S["VersionSummary"], { status: VersionStatus }>;

export type ProjectStatus = "not_started" | "labeling" | "training" | "completed" | "failed";

/** The list gives Project; the detail (ProjectDetail) adds versions and counts. */
export type Project = Refine<
  S["Project"],
  {
    type: ProjectType;
    status: ProjectStatus;
    dataset: DatasetRef | null;
    // Blank on the model when not set (non-predictive projects).
    label_type: LabelType | "";
    versions?: VersionSummary[];
    dataset_counts?: S["DatasetCounts"];
  }
>;

export interface LabelInput {
  name: string;
  color?: string;
}

export type ProjectCreate = Refine<
  S["ProjectCreateRequest"],
  {
    dataset?:
      | { source: "create"; name: string; input_path: string; output_path: string; labels: LabelInput[] }
      | { source: "specify"; id: string };
  }
>;

export type ProjectPatch = S["PatchedProjectUpdateRequest"];

export type JobStatus = S["JobStatusEnum"];
export type Job = Refine<
  S["Job"],
  { counts: Record<string, number>; errors: { file: string; reason: string; skipped?: boolean }[] }
>;

export type Dataset = Refine<S["Dataset"], { type: ProjectType; last_sync_job: Job | string | null }>;

export interface BoxObject {
  label: string;
  bbox: [number, number, number, number];
}

export type Sample = Refine<
  S["Sample"],
  { labels: string[]; objects: BoxObject[]; text: string | null; line_number: number | null }
>;

export type Label = S["Label"];

export type LabelDeleteMode = "label_only" | "label_and_samples" | "label_and_samples_and_files";

export type LabelStats = Refine<S["LabelStats"], { labels: { name: string; count: number }[] }>;

export type PreviewColumn = Refine<S["PreviewColumn"], { kind: "numeric" | "categorical" | string }>;
export type Preview = Refine<S["Preview"], { columns: PreviewColumn[]; rows: (string | number | null)[][] }>;

export type UploadResult = Refine<
  S["UploadResult"],
  { accepted: { file: string; id: string }[]; rejected: { file: string; reason: string }[] }
>;

export interface PerClass {
  label: string;
  precision: number;
  recall: number;
  f1: number;
  support: number;
  ap?: number;
}

/** One point of training/evaluation.py's binary threshold curve. */
export interface ThresholdPoint {
  threshold: number;
  precision: number;
  recall: number;
  f1: number;
  tpr: number;
  fpr: number;
  accuracy?: number;
}

/** Regression: (actual, predicted) of at most ~2,000 eval rows and every residual's histogram. */
export interface ResidualView {
  points: [number, number][];
  total: number;
  sampled: boolean;
  histogram: { edges: number[]; counts: number[] };
}

/** Predictions scoring at least `threshold`: how many are kept, right, precision and recall. */
export interface ConfidencePoint {
  threshold: number;
  kept: number;
  correct: number;
  precision: number;
  recall: number;
}
export interface ConfidenceView {
  /** What one prediction is: a sample, a (sample, label) pair, a box (at IoU 0.5). */
  unit: "samples" | "labels" | "boxes";
  predictions: number;
  /** The right answers there are to find (recall's denominator). */
  total: number;
  points: ConfidencePoint[];
}

/** training/evaluation.py's evaluation JSON (a superset across task types). */
export interface Evaluation {
  kind?: string;
  labels?: string[];
  per_class?: PerClass[];
  confusion_matrix?: number[][];
  threshold_curve?: ThresholdPoint[];
  positive_label?: string;
  threshold?: number;
  tp?: number;
  fp?: number;
  fn?: number;
  tn?: number;
  roc_auc?: number | null;
  feature_importance?: { feature: string; importance: number }[];
  residuals?: ResidualView;
  confidence?: ConfidenceView;
  conf_threshold?: number;
  calibration?: CalibrationEvaluation;
}

/** One equal-width bin of top-label confidence (training/engine/calibration.py). */
export interface ReliabilityBin {
  lo: number;
  hi: number;
  count: number;
  confidence: number | null;
  accuracy: number | null;
}

export interface CalibrationSide {
  ece: number;
  accuracy: number;
  mean_confidence: number;
  /** The ECE a perfectly calibrated model with these confidences shows on this many samples. */
  ece_noise_floor?: number;
  reliability: ReliabilityBin[];
}

/** evaluation.calibration: the eval split without (before) and with (after) calibration. */
export interface CalibrationEvaluation {
  method: string;
  temperature: number;
  bins: number;
  support: number;
  fitted_on: { rows: number; ece_before: number; ece_after: number; note?: string } | null;
  before: CalibrationSide;
  after: CalibrationSide;
}

/** One per-sample prediction on the eval split (?include=eval_predictions). */
export interface EvalPrediction {
  sample_id: string;
  true: string | string[];
  predicted: string | string[];
  scores?: Record<string, number>;
}

/** What the engine reports while training; newer backends only (absent: progress bar only). */
export interface LiveCandidate {
  name: string;
  family: string;
  status: "running" | "done" | "failed" | "skipped";
  score: number | null;
  /** Standard error of the score over the folds (and repeats) it was validated on. */
  std_error?: number | null;
  /** How many repeats of the folds validated it (small data repeats its leaders). */
  repeats?: number;
  metric: string;
  seconds: number;
}
export interface LivePoint {
  t: number;
  candidate: string;
  epoch: number | null;
  score: number;
}
export interface LiveTraining {
  eta_seconds: number | null;
  metric?: string;
  /** False for error metrics (RMSE): the lowest score is the best. */
  higher_is_better?: boolean;
  candidates: LiveCandidate[];
  curve: LivePoint[];
}

export type ModelVersion = Refine<
  S["ModelVersionDetail"],
  {
    params: Record<string, unknown>;
    metrics: Record<string, number> | null;
    evaluation: Evaluation | null;
    phase: string | null;
    error: string | null;
    eval_predictions?: EvalPrediction[] | null;
    live?: LiveTraining | null;
  }
>;

export type TrainRequest = Refine<S["TrainRequestRequest"], { train_ratio: number; max_minutes: number; preference: Preference; flavor: string }>;

export type TrainCheck = S["TrainCheck"];

export type Flavor = Refine<S["Flavor"], { task_types: ProjectType[] }>;

export type Service = Refine<
  S["Service"],
  {
    task_type: ProjectType;
    error: string | null;
    /** idle_minutes: stops after that many minutes without calls (null: off); idle_stop_at: when, if no call comes. */
    auto_stop?: { enabled: boolean; hours?: number; idle_minutes?: number | null; idle_stop_at?: string | null };
    last_call_at?: string | null;
  }
>;

export type DeployRequest = Refine<
  S["DeployRequest"],
  { flavor: string; auto_stop: { enabled: boolean; hours?: number; idle_minutes?: number | null } }
>;

export type ServiceMetrics = S["ServiceMetrics"];

export type Model = Refine<S["Model"], { task_type: ProjectType; metrics: Record<string, number> | null }>;

export type UsageRecord = S["UsageRecord"];

export type Quota = S["Quota"];

export type StorageListing = S["Browse"];
export type StorageObject = S["StorageObject"];

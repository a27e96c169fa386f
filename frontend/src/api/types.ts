export type ProjectType =
  | "image_classification"
  | "object_detection"
  | "predictive_analytics"
  | "sound_classification"
  | "text_classification";

export type Role = "owner" | "admin" | "member" | "viewer";

export interface Page<T> {
  count: number;
  next: string | null;
  previous: string | null;
  results: T[];
}

export interface Me {
  user: { id: string; username: string };
  tenant: { id: string; slug: string; name: string; storage_roots?: string[] };
  role: Role;
}

export interface DatasetRef {
  id: string;
  name: string;
  input_path: string;
  output_path: string;
  type: ProjectType;
}

export interface VersionSummary {
  id: string;
  name: string;
  status: VersionStatus;
}

export type ProjectStatus = "not_started" | "labeling" | "training" | "completed" | "failed";

export interface Project {
  id: string;
  name: string;
  description: string;
  type: ProjectType;
  status: ProjectStatus;
  created_at: string;
  dataset: DatasetRef | null;
  label_column: string | null;
  label_type: "discrete" | "continuous" | null;
  training_data: string | null;
  versions: VersionSummary[];
}

export interface LabelInput {
  name: string;
  color?: string;
}

export type ProjectCreate = {
  name: string;
  description: string;
  type: ProjectType;
  dataset?:
    | { source: "create"; name: string; input_path: string; output_path: string; labels: LabelInput[] }
    | { source: "specify"; id: string };
  training_data?: string;
};

export interface Dataset {
  id: string;
  name: string;
  type: ProjectType;
  input_path: string;
  output_path: string;
  sample_count: number;
  labeled_count: number;
  unlabeled_count: number;
  last_sync_job: Job | string | null;
}

export interface BoxObject {
  label: string;
  bbox: [number, number, number, number];
}

export interface Sample {
  id: string;
  name: string;
  source: string;
  status: "ok" | "missing";
  labeled: boolean;
  revision: number;
  labels: string[];
  objects: BoxObject[];
  width: number | null;
  height: number | null;
  duration: number | null;
  text: string | null;
  line_number: number | null;
  content_url: string;
}

export interface Label {
  name: string;
  color: string;
  shortcut: string | null;
  count: number;
}

export type LabelDeleteMode = "label_only" | "label_and_samples" | "label_and_samples_and_files";

export interface LabelStats {
  labels: { name: string; count: number }[];
  labeled: number;
  unlabeled: number;
}

export interface PreviewColumn {
  name: string;
  kind: "numeric" | "categorical";
  distinct: number;
  missing_share: number;
  valid: boolean;
  reason: string | null;
}

export interface Preview {
  columns: PreviewColumn[];
  rows: (string | number | null)[][];
  row_count: number;
}

export interface Job {
  id: string;
  kind: string;
  status: "queued" | "running" | "succeeded" | "failed";
  progress: number;
  counts: Record<string, number>;
  errors: { file: string; reason: string }[];
  created_at: string;
  finished_at: string | null;
}

export interface UploadResult {
  accepted: { file: string; id: string }[];
  rejected: { file: string; reason: string }[];
}

export type VersionStatus = "queued" | "running" | "completed" | "failed" | "stopped";

export interface PerClass {
  label: string;
  precision: number;
  recall: number;
  f1: number;
  support: number;
  ap?: number;
}

export interface ThresholdPoint {
  threshold: number;
  precision: number;
  recall: number;
  f1: number;
  tpr: number;
  fpr: number;
}

export interface Evaluation {
  labels?: string[];
  per_class?: PerClass[];
  confusion_matrix?: number[][];
  threshold_curve?: ThresholdPoint[];
  tp?: number;
  fp?: number;
  fn?: number;
  tn?: number;
  feature_importance?: { feature: string; importance: number }[];
}

export interface ModelVersion {
  id: string;
  name: string;
  status: VersionStatus;
  progress: number;
  phase: string | null;
  queue_position: number | null;
  stopped_by_deadline: boolean;
  params: Record<string, unknown>;
  metrics: Record<string, number> | null;
  evaluation: Evaluation | null;
  started_at: string | null;
  finished_at: string | null;
  created_at?: string;
  error: string | null;
}

export interface TrainRequest {
  dataset_version?: string;
  train_ratio: number;
  incremental_from?: string;
  max_minutes: number;
  preference: "performance_first" | "balance" | "accuracy_first";
  flavor: string;
}

export interface TrainCheck {
  ok: boolean;
  reasons: string[];
}

export interface Flavor {
  code: string;
  name: string;
  purpose: "train" | "deploy";
  device: "cpu" | "gpu";
  free: boolean;
  max_minutes: number | null;
  task_types: ProjectType[];
}

export type ServiceStatus = "deploying" | "running" | "stopped" | "failed" | "stopping" | "concerning";

export interface Service {
  id: string;
  name: string;
  status: ServiceStatus;
  url: string;
  stop_at: string | null;
  flavor: string;
  model: { id: string; name: string };
  project_id: string;
  version_id: string;
  task_type: ProjectType;
  invocation_times: number;
  failed_times: number;
  created_at: string;
  error: string | null;
  api_example: string;
  /** Object detection: boxes scoring under it are not returned; null = the model's default. */
  confidence_threshold?: number | null;
}

export interface DeployRequest {
  flavor: string;
  auto_stop: { enabled: boolean; hours?: number };
  confidence_threshold?: number | null;
}

export interface ServiceMetrics {
  calls: number;
  /** API.md's name for failed calls; `failures` carries the same number. */
  errors?: number;
  failures: number;
  latency_ms: { p50: number | null; p95: number | null; p99: number | null };
  last_hour?: Record<string, unknown>;
}

export interface Model {
  id: string;
  name: string;
  task_type: ProjectType;
  metrics: Record<string, number> | null;
  size_bytes: number;
  project_id: string;
  version_id: string;
  created_at: string;
}

export interface UsageRecord {
  resource: string;
  flavor: string;
  start: string;
  end: string | null;
  minutes: number;
}

export interface StorageListing {
  path: string;
  folders: string[];
  objects: { path: string; size: number; mtime: string }[];
}

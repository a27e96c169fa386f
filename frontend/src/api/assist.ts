// Model-assisted labeling: pre-label suggestions, label-next order, suspected label errors,
// batch prediction (labeling/suggestion_views.py, serving/model_job_views.py, training label-check).
import { http } from "./client";
import { allPages, asPage } from "./lists";
import type { components } from "./schema";
import type { BoxObject, Job, Page, Refine } from "./types";

type S = components["schemas"];

export interface SuggestedBox extends BoxObject {
  score?: number;
}
/** The schema types the JSON payload as unknown: a class label list, or detection boxes. */
export type SuggestionPayload = { labels: string[] } | { objects: SuggestedBox[] };
export type Suggestion = Refine<S["Suggestion"], { payload: SuggestionPayload; source: { version_id: string; version: string } }>;
export type LabelNext = S["LabelNext"];
export type LabelIssue = S["LabelIssue"];
export type IssueStatus = S["LabelIssueStatusEnum"];
export type DecisionResult = S["SuggestionDecisionResult"];
/** jsonl rows: {file, result} per file ({file, line, text, result} per text line); csv rows: cells. */
export type BatchResults = Refine<S["BatchResults"], { rows: (string[] | BatchResultEntry)[] }>;
export interface BatchResultEntry {
  file?: string;
  line?: number;
  text?: string;
  result?: Record<string, unknown>;
  raw?: string;
}

const ds = (id: string) => `/api/v1/datasets/${id}`;
type Selection = { ids: string[] } | { min_confidence: number };

export const assistApi = {
  prelabel: (projectId: string, version: string) => http.post<Job>(`/api/v1/projects/${projectId}/versions/${version}/prelabel`),
  batchPredict: (projectId: string, version: string, body: { input_path: string; output_path: string }) =>
    http.post<Job>(`/api/v1/projects/${projectId}/versions/${version}/batch-predict`, body),
  /** The first results of a succeeded batch prediction, read back from storage. */
  batchResults: (jobId: string, limit = 20, file?: string) =>
    http.get<BatchResults>(`/api/v1/batch-predictions/${jobId}/results`, file ? { limit, file } : { limit }),
  /** The whole result file, streamed by the API (a plain link: the session cookie authenticates it). */
  batchDownloadUrl: (jobId: string, file?: string) =>
    `/api/v1/batch-predictions/${jobId}/download${file ? `?file=${encodeURIComponent(file)}` : ""}`,
  cancel: (jobId: string) => http.post<Job>(`/api/v1/jobs/${jobId}/cancel`),
  /** The newest job of a kind on a dataset (newest first), to pick up one still running. */
  latestJob: async (kind: "prelabel" | "label_check" | "batch_prediction", targetId: string) =>
    asPage(await http.get<Page<Job> | Job[]>("/api/v1/jobs", { kind, target_id: targetId, page_size: 1 })).results[0] ?? null,
  /** Every pending suggestion of the dataset (the labeling view marks the samples with them). */
  pending: (datasetId: string) => allPages<Suggestion>(`${ds(datasetId)}/suggestions`, { status: "pending" }),
  accept: (datasetId: string, sel: Selection) => http.post<DecisionResult>(`${ds(datasetId)}/suggestions/accept`, sel),
  reject: (datasetId: string, sel: Selection) => http.post<DecisionResult>(`${ds(datasetId)}/suggestions/reject`, sel),
  labelNext: async (datasetId: string, q: { page?: number; cursor?: string; page_size: number }) =>
    asPage(await http.get<Page<LabelNext> | LabelNext[]>(`${ds(datasetId)}/label-next`, q)),
  scan: (datasetId: string) => http.post<Job>(`${ds(datasetId)}/label-issues/scan`),
  issues: (datasetId: string, status: IssueStatus | "all" = "open") =>
    allPages<LabelIssue>(`${ds(datasetId)}/label-issues`, { status }),
  resolve: (datasetId: string, issueId: string, body: { action: "fix" | "checked"; label?: string }) =>
    http.post<LabelIssue>(`${ds(datasetId)}/label-issues/${issueId}/resolve`, body),
};

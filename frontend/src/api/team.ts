// Team labeling: members and their roles, labeling tasks with review, a sample's history and
// the per-member activity of a dataset (docs/roles.md).
import { http } from "./client";
import { asPage } from "./lists";
import type { components } from "./schema";
import type { Page, Refine, Role } from "./types";

type S = components["schemas"];

export type Capability = S["CapabilitiesEnum"];
export type Member = S["Member"];
export type LabelingTask = S["LabelingTask"];
export type TaskStatus = S["LabelingTaskStatusEnum"];
export type TaskOrder = S["OrderEnum"];
export type ReviewDecision = S["DecisionEnum"];
export type AnnotationEvent = S["AnnotationEvent"];
export type MemberActivity = Refine<S["Activity"], { per_day: { day: string; samples: number }[] }>;

/** sample.review as the API sends it (the schema types it as a plain object). */
export interface SampleReview {
  status: "" | "accepted" | "rejected";
  comment: string;
  by: string | null;
  at: string | null;
}

export interface TaskCreate {
  assignees: string[];
  per_task?: number;
  by_folder?: boolean;
  order: TaskOrder;
  max_samples?: number;
  name?: string;
  /** The fraction (0..0.5) of samples a second labeler also labels, blind (needs two assignees). */
  overlap?: number;
}

/** One label's agreement: kappa and share agreeing (classification) or F1 and box count (detection). */
export interface LabelAgreement {
  label: string;
  kappa?: number | null;
  agreement?: number | null;
  f1?: number | null;
  boxes?: number;
}

/** Agreement figures (the schema types them as plain objects). */
export interface AgreementFigures {
  samples: number;
  exact: number | null;
  kappa: number | null;
  f1: number | null;
  labels: LabelAgreement[];
}

export interface DatasetAgreement {
  between_labelers: AgreementFigures;
  pairs: (AgreementFigures & { labelers: string[] })[];
  with_reviewed: (AgreementFigures & { username: string })[];
}

export interface ReviewItem {
  sample_id: string;
  decision: ReviewDecision;
  comment: string;
}

const tasksBase = (datasetId: string) => `/api/v1/datasets/${datasetId}/tasks`;

export const membersApi = {
  list: async (q: { page?: number; page_size?: number } = {}) =>
    asPage(await http.get<Page<Member> | Member[]>("/api/v1/members", q)),
  /** A new account needs a password; an existing one joins with its own. */
  invite: (body: { username: string; role: Role; password?: string }) => http.post<Member>("/api/v1/members", body),
  setRole: (username: string, role: Role) => http.patch<Member>(`/api/v1/members/${encodeURIComponent(username)}`, { role }),
  remove: (username: string) => http.del(`/api/v1/members/${encodeURIComponent(username)}`),
};

export const tasksApi = {
  list: async (datasetId: string, q: { assignee?: string; status?: TaskStatus; page?: number; page_size?: number } = {}) =>
    asPage(await http.get<Page<LabelingTask> | LabelingTask[]>(tasksBase(datasetId), q)),
  get: (datasetId: string, taskId: string) => http.get<LabelingTask>(`${tasksBase(datasetId)}/${taskId}`),
  /** 201 with the tasks made (a page or a list). */
  create: async (datasetId: string, body: TaskCreate) =>
    asPage(await http.post<Page<LabelingTask> | LabelingTask[]>(tasksBase(datasetId), body)).results,
  update: (datasetId: string, taskId: string, body: { assignee?: string; name?: string }) =>
    http.patch<LabelingTask>(`${tasksBase(datasetId)}/${taskId}`, body),
  cancel: (datasetId: string, taskId: string) => http.post<LabelingTask>(`${tasksBase(datasetId)}/${taskId}/cancel`),
  /** 409 with the reason (unlabelled samples, not open) when refused. */
  submit: (datasetId: string, taskId: string) => http.post<LabelingTask>(`${tasksBase(datasetId)}/${taskId}/submit`),
  review: (datasetId: string, taskId: string, decisions: ReviewItem[]) =>
    http.post<LabelingTask>(`${tasksBase(datasetId)}/${taskId}/review`, { decisions }),
};

export const teamApi = {
  history: async (datasetId: string, sampleId: string) =>
    asPage(await http.get<Page<AnnotationEvent> | AnnotationEvent[]>(`/api/v1/datasets/${datasetId}/samples/${sampleId}/history`, { page_size: 100 })),
  agreement: (datasetId: string) => http.get<DatasetAgreement>(`/api/v1/datasets/${datasetId}/agreement`),
  activity: (datasetId: string, days = 14) =>
    http.get<MemberActivity[]>(`/api/v1/datasets/${datasetId}/activity`, { days }),
};

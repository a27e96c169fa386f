import { ApiError, http, type OnProgress } from "./client";
import { allPages, asPage } from "./lists";
import type {
  Dataset, Job, Label, LabelDeleteMode, LabelStats, Page, Preview, ProjectType, Sample, UploadResult,
} from "./types";

const base = (id: string) => `/api/v1/datasets/${id}`;

export function isJob(value: unknown): value is Job {
  return !!value && typeof value === "object" && "kind" in value && "status" in value && "id" in value;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class JobTimeout extends Error {
  readonly job: Job | null;
  constructor(job: Job | null, minutes: number) {
    super(`The ${job?.kind ?? "background"} job did not finish within ${minutes} minutes; it may still be running. Reload the page to check on it.`);
    this.job = job;
  }
}

/**
 * Polls a job until it ends; throws JobTimeout after timeoutMs (a worker that died would
 * otherwise leave the dialog spinning forever). A failed job is returned, not thrown: the
 * caller shows its errors.
 */
export async function waitForJob(
  jobId: string, onProgress?: (job: Job) => void, { intervalMs = 1000, timeoutMs = 15 * 60_000 } = {},
): Promise<Job> {
  const deadline = Date.now() + timeoutMs;
  let job: Job | null = null;
  for (;;) {
    job = await datasetsApi.job(jobId);
    onProgress?.(job);
    if (job.status === "succeeded" || job.status === "failed" || job.status === "cancelled") return job;
    if (Date.now() + intervalMs > deadline) throw new JobTimeout(job, Math.round(timeoutMs / 60_000));
    await sleep(intervalMs);
  }
}

export const datasetsApi = {
  list: async (q: { type?: ProjectType; page?: number; page_size?: number } = {}) =>
    asPage(await http.get<Page<Dataset> | Dataset[]>("/api/v1/datasets", q)),
  get: (id: string) => http.get<Dataset>(base(id)),
  remove: (id: string) => http.del(base(id)),
  sync: (id: string) => http.post<Job>(`${base(id)}/sync`),
  job: (jobId: string) => http.get<Job>(`/api/v1/jobs/${jobId}`),
  cancelJob: (jobId: string) => http.post<Job>(`/api/v1/jobs/${jobId}/cancel`),
  samples: async (id: string, q: { labeled?: boolean; label?: string; task?: string; assignee?: string; page?: number; cursor?: string; page_size?: number }) =>
    asPage(await http.get<Page<Sample> | Sample[]>(`${base(id)}/samples`, q)),
  sample: (id: string, sid: string) => http.get<Sample>(`${base(id)}/samples/${sid}`),
  /** 201 answers {accepted, rejected}; 202 answers an import job to follow; 400 with
   *  {accepted: [], rejected} when no file was accepted, returned here like a partial result. */
  upload: async (id: string, files: File[], onProgress?: OnProgress): Promise<UploadResult | Job> => {
    const form = new FormData();
    for (const file of files) form.append("files", file, file.name);
    try {
      return await http.upload<UploadResult | Job>(`${base(id)}/samples`, form, onProgress);
    } catch (err) {
      const body = err instanceof ApiError ? (err.body as Partial<UploadResult> | null) : null;
      if (err instanceof ApiError && err.status === 400 && Array.isArray(body?.rejected)) {
        return { accepted: [], rejected: body.rejected };
      }
      throw err;
    }
  },
  deleteSamples: (id: string, ids: string[], deleteSource: boolean) =>
    http.post<void>(`${base(id)}/samples/delete`, { ids, delete_source: deleteSource }),
  /** Sends the revision the user edited; a 409 carries the current sample. */
  annotate: (id: string, sample: Pick<Sample, "id" | "revision">, body: { labels: string[] } | { objects: Sample["objects"] }) =>
    http.put<Sample>(`${base(id)}/samples/${sample.id}/annotations`, body, { "If-Match": String(sample.revision) }),
  batch: (id: string, sampleIds: string[], add: string[], remove: string[]) =>
    http.post<unknown>(`${base(id)}/annotations/batch`, { sample_ids: sampleIds, add, remove }),
  labels: (id: string) => allPages<Label>(`${base(id)}/labels`),
  addLabel: (id: string, label: { name: string; color?: string; shortcut?: string | null }) =>
    http.post<Label>(`${base(id)}/labels`, label),
  patchLabel: (id: string, name: string, body: { name?: string; color?: string; shortcut?: string | null }) =>
    http.patch<Label>(`${base(id)}/labels/${encodeURIComponent(name)}`, body),
  deleteLabel: (id: string, name: string, mode: LabelDeleteMode) =>
    http.del(`${base(id)}/labels/${encodeURIComponent(name)}`, { mode }),
  labelStats: (id: string) => http.get<LabelStats>(`${base(id)}/label-stats`),
  preview: (id: string) => http.get<Preview>(`${base(id)}/preview`),
  /** Override the CSV's header detection (null: detect); answers the new preview. */
  tableSettings: (id: string, hasHeader: boolean | null) =>
    http.patch<Preview & { sync_job: Job | null }>(`${base(id)}/table`, { has_header: hasHeader }),
  /**
   * The preview, or why there is none: a 409 says the state (not_synced, csv_invalid, syncing,
   * no_csv) and what fixes it, which the console turns into a button.
   */
  previewOrState: async (id: string): Promise<Preview | TableState> => {
    try {
      return await http.get<Preview>(`${base(id)}/preview`);
    } catch (err) {
      if (err instanceof ApiError && err.status === 409) {
        const body = (err.body ?? {}) as { status?: string };
        return { state: (body.status as TableState["state"]) ?? "not_synced", reason: err.message };
      }
      throw err;
    }
  },
};

/** Why a predictive-analytics dataset has no profile yet, and what to do (the message). */
export interface TableState {
  state: "not_synced" | "csv_invalid" | "syncing" | "no_csv";
  reason: string;
}

export function isTableState(value: unknown): value is TableState {
  return typeof value === "object" && value !== null && "state" in value && "reason" in value;
}

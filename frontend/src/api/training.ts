import { http } from "./client";
import { allPages } from "./lists";
import type { Flavor, ModelVersion, TrainCheck, TrainRequest } from "./types";

const base = (projectId: string) => `/api/v1/projects/${projectId}`;

/** "Free (GPU)" stays as is; a name that does not say its device gets it appended. */
export function flavorLabel(f: Flavor): string {
  return new RegExp(f.device, "i").test(f.name) ? f.name : `${f.name} (${f.device.toUpperCase()})`;
}

export const trainingApi = {
  check: (projectId: string) => http.get<TrainCheck>(`${base(projectId)}/train-check`),
  train: (projectId: string, body: TrainRequest) => http.post<ModelVersion>(`${base(projectId)}/train`, body),
  versions: (projectId: string) => allPages<ModelVersion>(`${base(projectId)}/versions`),
  version: (projectId: string, v: string, opts: { evalPredictions?: boolean } = {}) =>
    http.get<ModelVersion>(`${base(projectId)}/versions/${v}`, opts.evalPredictions ? { include: "eval_predictions" } : undefined),
  stop: (projectId: string, v: string) => http.post<ModelVersion>(`${base(projectId)}/versions/${v}/stop`),
  logs: (projectId: string, v: string) => http.get<{ lines: string[] }>(`${base(projectId)}/versions/${v}/logs`),
  flavors: () => allPages<Flavor>("/api/v1/flavors"),
};

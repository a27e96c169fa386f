import { http } from "./client";
import { asList } from "./lists";
import type { Flavor, ModelVersion, Page, TrainCheck, TrainRequest } from "./types";

const base = (projectId: string) => `/api/v1/projects/${projectId}`;

/** "Free (GPU)" stays as is; a name that does not say its device gets it appended. */
export function flavorLabel(f: Flavor): string {
  return new RegExp(f.device, "i").test(f.name) ? f.name : `${f.name} (${f.device.toUpperCase()})`;
}

export const trainingApi = {
  check: (projectId: string) => http.get<TrainCheck>(`${base(projectId)}/train-check`),
  train: (projectId: string, body: TrainRequest) => http.post<ModelVersion>(`${base(projectId)}/train`, body),
  versions: async (projectId: string) =>
    asList(await http.get<ModelVersion[] | Page<ModelVersion>>(`${base(projectId)}/versions`, { page_size: 100 })),
  version: (projectId: string, v: string) => http.get<ModelVersion>(`${base(projectId)}/versions/${v}`),
  stop: (projectId: string, v: string) => http.post<ModelVersion>(`${base(projectId)}/versions/${v}/stop`),
  logs: (projectId: string, v: string) => http.get<{ lines: string[] }>(`${base(projectId)}/versions/${v}/logs`),
  flavors: async () => asList(await http.get<Flavor[] | Page<Flavor>>("/api/v1/flavors")),
};

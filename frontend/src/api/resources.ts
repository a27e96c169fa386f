import { http } from "./client";
import { allPages } from "./lists";
import type { Model, Quota, StorageListing, UsageRecord } from "./types";

export const modelsApi = {
  list: () => allPages<Model>("/api/v1/models"),
  downloadUrl: (id: string) => `/api/v1/models/${id}/download`,
};

export const usageApi = {
  usage: () => allPages<UsageRecord>("/api/v1/usage"),
  quotas: () => allPages<Quota>("/api/v1/quotas"),
};

export const storageApi = {
  browse: (path: string) => http.get<StorageListing>("/api/v1/storage/browse", { path }),
  createFolder: (path: string) => http.post<unknown>("/api/v1/storage/folders", { path }),
};

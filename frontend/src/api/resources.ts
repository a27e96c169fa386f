import { http } from "./client";
import { asList } from "./lists";
import type { Model, Page, StorageListing, UsageRecord } from "./types";

export const modelsApi = {
  list: async () => asList(await http.get<Model[] | Page<Model>>("/api/v1/models", { page_size: 100 })),
  downloadUrl: (id: string) => `/api/v1/models/${id}/download`,
};

export const usageApi = {
  usage: async () => asList(await http.get<UsageRecord[] | Page<UsageRecord>>("/api/v1/usage", { page_size: 100 })),
  quotas: () => http.get<unknown>("/api/v1/quotas"),
};

export const storageApi = {
  browse: (path: string) => http.get<StorageListing>("/api/v1/storage/browse", { path }),
  createFolder: (path: string) => http.post<unknown>("/api/v1/storage/folders", { path }),
};

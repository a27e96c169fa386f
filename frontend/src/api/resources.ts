import { http, type OnProgress } from "./client";
import { allPages } from "./lists";
import type { Model, Quota, StorageListing, StorageObject, UsageRecord } from "./types";

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
  /** POST /storage/objects: one file to its full path (CSV files; 400 names the reason). */
  putObject: (path: string, file: File, overwrite: boolean, onProgress?: OnProgress) => {
    const form = new FormData();
    form.append("path", path);
    form.append("overwrite", overwrite ? "true" : "false");
    form.append("file", file, file.name);
    return http.upload<StorageObject>("/api/v1/storage/objects", form, onProgress);
  },
};

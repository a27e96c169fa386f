import { http, request } from "./client";
import { allPages } from "./lists";
import type { DeployRequest, Service, ServiceMetrics } from "./types";

export const servingApi = {
  deploy: (projectId: string, v: string, body: DeployRequest) =>
    http.post<Service>(`/api/v1/projects/${projectId}/versions/${v}/deploy`, body),
  list: () => allPages<Service>("/api/v1/services"),
  get: (id: string) => http.get<Service>(`/api/v1/services/${id}`),
  remove: (id: string) => http.del(`/api/v1/services/${id}`),
  start: (id: string) => http.post<Service>(`/api/v1/services/${id}/start`),
  stop: (id: string) => http.post<Service>(`/api/v1/services/${id}/stop`),
  metrics: (id: string) => http.get<ServiceMetrics>(`/api/v1/services/${id}/metrics`),
  inferFile: (id: string, field: "images" | "files", file: File) => {
    const form = new FormData();
    form.append(field, file, file.name);
    return request<unknown>("POST", `/v1/infers/${id}`, { form });
  },
  inferJson: (id: string, body: unknown) => request<unknown>("POST", `/v1/infers/${id}`, { body }),
};

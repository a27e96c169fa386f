import { http } from "./client";
import { asPage } from "./lists";
import type { Page, Project, ProjectCreate, ProjectType } from "./types";

export const projectsApi = {
  list: async (q: { search?: string; type?: ProjectType | ""; page?: number; page_size?: number }) =>
    asPage(await http.get<Page<Project> | Project[]>("/api/v1/projects", q)),
  get: (id: string) => http.get<Project>(`/api/v1/projects/${id}`),
  create: (body: ProjectCreate) => http.post<Project>("/api/v1/projects", body),
  patch: (id: string, body: Partial<Pick<Project, "label_column" | "label_type" | "description">>) =>
    http.patch<Project>(`/api/v1/projects/${id}`, body),
  remove: (id: string) => http.del(`/api/v1/projects/${id}`),
};

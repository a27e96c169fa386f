import { http } from "./client";
import type { Me } from "./types";

export const authApi = {
  csrf: () => http.get<void>("/api/v1/auth/csrf"),
  login: (username: string, password: string) => http.post<Me>("/api/v1/auth/login", { username, password }),
  logout: () => http.post<void>("/api/v1/auth/logout"),
  me: () => http.get<Me>("/api/v1/me"),
};

import { http } from "./client";
import type { Me, PasswordChange } from "./types";

export const authApi = {
  csrf: () => http.get<void>("/api/v1/auth/csrf"),
  login: (username: string, password: string) => http.post<Me>("/api/v1/auth/login", { username, password }),
  logout: () => http.post<void>("/api/v1/auth/logout"),
  /** 204; 400 names current_password (wrong) or new_password (the validators' reasons). */
  changePassword: (body: PasswordChange) => http.post<void>("/api/v1/auth/password", body),
  me: () => http.get<Me>("/api/v1/me"),
};

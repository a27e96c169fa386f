import { createContext, useCallback, useContext, useEffect, useState, type ReactNode } from "react";
import { ApiError, onUnauthorized } from "../../api/client";
import { authApi } from "../../api/auth";
import type { Me } from "../../api/types";

interface AuthState {
  me: Me | null;
  checked: boolean;
  login: (username: string, password: string) => Promise<void>;
  logout: () => Promise<void>;
  /** false for viewers: write actions are hidden or disabled. */
  canWrite: boolean;
  canAdmin: boolean;
}

const AuthContext = createContext<AuthState | null>(null);

export function AuthProvider({ children }: { children: ReactNode }) {
  const [me, setMe] = useState<Me | null>(null);
  const [checked, setChecked] = useState(false);

  useEffect(() => {
    onUnauthorized(() => setMe(null));
    authApi
      .me()
      .then(setMe)
      .catch((err) => {
        if (!(err instanceof ApiError) || (err.status !== 401 && err.status !== 403)) console.error(err);
        setMe(null);
      })
      .finally(() => setChecked(true));
    return () => onUnauthorized(null);
  }, []);

  const login = useCallback(async (username: string, password: string) => {
    await authApi.csrf().catch(() => undefined);
    setMe(await authApi.login(username, password));
  }, []);

  const logout = useCallback(async () => {
    try {
      await authApi.logout();
    } finally {
      setMe(null);
    }
  }, []);

  const role = me?.role;
  return (
    <AuthContext.Provider
      value={{ me, checked, login, logout, canWrite: !!role && role !== "viewer", canAdmin: role === "owner" || role === "admin" }}
    >
      {children}
    </AuthContext.Provider>
  );
}

export function useAuth(): AuthState {
  const ctx = useContext(AuthContext);
  if (!ctx) throw new Error("useAuth outside AuthProvider");
  return ctx;
}

import { createContext, useCallback, useContext, useEffect, useRef, useState, type ReactNode } from "react";
import { ApiError, onUnauthorized } from "../../api/client";
import { authApi } from "../../api/auth";
import type { Capability } from "../../api/team";
import type { Me } from "../../api/types";
import { hasCapability } from "../team/teamLogic";

interface AuthState {
  me: Me | null;
  /** The session ended while in use: the sign-in dialog is open over the page. */
  expired: boolean;
  checked: boolean;
  login: (username: string, password: string) => Promise<void>;
  logout: () => Promise<void>;
  /** The role's `write` capability: false for viewers, reviewers and labelers (actions hidden). */
  canWrite: boolean;
  /** The role's `manage` capability (owner, admin). */
  canAdmin: boolean;
  /** Whether the signed-in role has this capability (docs/roles.md). */
  can: (cap: Capability) => boolean;
}

const AuthContext = createContext<AuthState | null>(null);

export function AuthProvider({ children }: { children: ReactNode }) {
  const [me, setMe] = useState<Me | null>(null);
  const [checked, setChecked] = useState(false);
  const [expired, setExpired] = useState(false);
  const meRef = useRef<Me | null>(null);
  meRef.current = me;
  // Requests that found the session gone wait here for the user to sign in again.
  const waiting = useRef<((renewed: boolean) => void)[]>([]);
  const settle = (renewed: boolean) => {
    const all = waiting.current;
    waiting.current = [];
    all.forEach((resolve) => resolve(renewed));
  };

  useEffect(() => {
    onUnauthorized(() => {
      if (!meRef.current) return Promise.resolve(false);
      setExpired(true);
      return new Promise<boolean>((resolve) => waiting.current.push(resolve));
    });
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
    const next = await authApi.login(username, password);
    const sameUser = meRef.current?.user.id === next.user.id && meRef.current?.tenant.id === next.tenant.id;
    setMe(next);
    setExpired(false);
    // Only the same user and tenant carry on with what the page was doing.
    settle(sameUser);
  }, []);

  const logout = useCallback(async () => {
    setExpired(false);
    settle(false);
    try {
      await authApi.logout();
    } finally {
      setMe(null);
    }
  }, []);

  const can = useCallback((cap: Capability) => !!me && hasCapability(me.capabilities, me.role, cap), [me]);
  return (
    <AuthContext.Provider value={{ me, expired, checked, login, logout, canWrite: can("write"), canAdmin: can("manage"), can }}>
      {children}
    </AuthContext.Provider>
  );
}

export function useAuth(): AuthState {
  const ctx = useContext(AuthContext);
  if (!ctx) throw new Error("useAuth outside AuthProvider");
  return ctx;
}

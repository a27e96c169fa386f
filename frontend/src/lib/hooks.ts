import { useCallback, useEffect, useRef, useState } from "react";
import { errorText } from "../api/client";

export interface Loaded<T> {
  data: T | undefined;
  error: string | null;
  loading: boolean;
  reload: () => Promise<void>;
  /** A value, or an update of the latest value (several updates in one tick each see the one before). */
  setData: (value: T | ((latest: T | undefined) => T | undefined)) => void;
}

/** Loads once per change of deps; reload() refetches without clearing the old data. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): Loaded<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const loadRef = useRef(load);
  loadRef.current = load;
  const generation = useRef(0);

  const reload = useCallback(async () => {
    const mine = ++generation.current;
    setLoading(true);
    try {
      const value = await loadRef.current();
      if (mine === generation.current) {
        setData(value);
        setError(null);
      }
    } catch (err) {
      if (mine === generation.current) setError(errorText(err));
    } finally {
      if (mine === generation.current) setLoading(false);
    }
  }, []);

  useEffect(() => {
    void reload();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, deps);

  return { data, error, loading, reload, setData };
}

/** Calls tick every intervalMs while active; stops on unmount. */
export function useInterval(tick: () => void, intervalMs: number, active: boolean): void {
  const tickRef = useRef(tick);
  tickRef.current = tick;
  useEffect(() => {
    if (!active) return;
    const handle = window.setInterval(() => tickRef.current(), intervalMs);
    return () => window.clearInterval(handle);
  }, [intervalMs, active]);
}

export function useNow(intervalMs = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useInterval(() => setNow(Date.now()), intervalMs, true);
  return now;
}

/**
 * useState that survives a reload of the tab (sessionStorage, this tab only): a half-filled
 * form comes back as it was. clearSessionState(prefix) forgets a finished form.
 */
export function useSessionState<T>(key: string, initial: T): [T, (value: T | ((old: T) => T)) => void] {
  const [value, setValue] = useState<T>(() => {
    try {
      const raw = window.sessionStorage.getItem(key);
      return raw === null ? initial : (JSON.parse(raw) as T);
    } catch {
      return initial;
    }
  });
  useEffect(() => {
    try {
      window.sessionStorage.setItem(key, JSON.stringify(value));
    } catch {
      // storage full or disabled: the form still works, it just does not survive a reload
    }
  }, [key, value]);
  return [value, setValue];
}

export function clearSessionState(prefix: string): void {
  try {
    for (let i = window.sessionStorage.length - 1; i >= 0; i--) {
      const k = window.sessionStorage.key(i);
      if (k?.startsWith(prefix)) window.sessionStorage.removeItem(k);
    }
  } catch {
    // nothing stored
  }
}

// The one place that speaks HTTP. Everything else goes through the typed modules beside it.

export class ApiError extends Error {
  readonly status: number;
  readonly body: unknown;
  constructor(status: number, body: unknown, message: string) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

export type Query = Record<string, string | number | boolean | undefined | null>;

export interface RequestOptions {
  query?: Query;
  body?: unknown;
  form?: FormData;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

const SAFE = new Set(["GET", "HEAD", "OPTIONS"]);
/**
 * Called when a request finds the session gone. It resolves true once the user signed in
 * again (the request is then retried, so the action the user took is not lost), false when
 * there is nothing to renew (never signed in, or the user gave up): the error stands.
 */
type SessionLostHandler = () => Promise<boolean>;
let unauthorizedHandler: SessionLostHandler | null = null;

export function onUnauthorized(handler: SessionLostHandler | null): void {
  unauthorizedHandler = handler;
}

export function readCookie(cookieString: string, name: string): string | null {
  for (const part of cookieString.split(";")) {
    const [key, ...rest] = part.trim().split("=");
    if (key === name) return decodeURIComponent(rest.join("="));
  }
  return null;
}

export function buildUrl(path: string, query?: Query): string {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null || value === "") continue;
    params.set(key, String(value));
  }
  const qs = params.toString();
  return qs ? `${path}${path.includes("?") ? "&" : "?"}${qs}` : path;
}

/** Turns a DRF error body into one readable line. */
export function describeError(body: unknown, fallback: string): string {
  if (typeof body === "string" && body.trim()) return body.slice(0, 300);
  if (body && typeof body === "object") {
    const record = body as Record<string, unknown>;
    if (typeof record.detail === "string") return record.detail;
    const parts: string[] = [];
    for (const [field, value] of Object.entries(record)) {
      const text = Array.isArray(value) ? value.map(String).join(" ") : typeof value === "string" ? value : "";
      if (text) parts.push(field === "non_field_errors" ? text : `${field}: ${text}`);
    }
    if (parts.length) return parts.join("; ");
  }
  return fallback;
}

/**
 * 401, or the 403 DRF gives when session auth comes first and nobody is logged in; a 403
 * for a role or quota keeps the user where they are.
 */
export function isSessionLost(status: number, body: unknown): boolean {
  if (status === 401) return true;
  const detail = body && typeof body === "object" ? (body as { detail?: unknown }).detail : undefined;
  return status === 403 && typeof detail === "string" && /credentials were not provided|not authenticated/i.test(detail);
}

async function csrfToken(): Promise<string | null> {
  let token = readCookie(document.cookie, "csrftoken");
  if (!token) {
    await fetch("/api/v1/auth/csrf", { credentials: "same-origin" });
    token = readCookie(document.cookie, "csrftoken");
  }
  return token;
}

export async function request<T>(method: string, path: string, options: RequestOptions = {}, retried = false): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json", ...options.headers };
  let body: BodyInit | undefined;
  if (options.form) {
    body = options.form;
  } else if (options.body !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(options.body);
  }
  if (!SAFE.has(method)) {
    const token = await csrfToken();
    if (token) headers["X-CSRFToken"] = token;
  }
  const response = await fetch(buildUrl(path, options.query), {
    method,
    headers,
    body,
    credentials: "same-origin",
    signal: options.signal,
  });
  const text = await response.text();
  let parsed: unknown = undefined;
  if (text) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = text;
    }
  }
  if (!response.ok) {
    if (isSessionLost(response.status, parsed) && unauthorizedHandler && !retried && !path.startsWith("/api/v1/auth/")) {
      // Signing in again rotates the CSRF cookie; the retry reads the new one.
      if (await unauthorizedHandler()) return request<T>(method, path, options, true);
    }
    throw new ApiError(response.status, parsed, describeError(parsed, `${response.status} ${response.statusText}`));
  }
  return parsed as T;
}

/** Upload progress: bytes sent of the request body's total (from XHR's upload events). */
export type OnProgress = (sent: number, total: number) => void;

function xhrSend(method: string, url: string, form: FormData, headers: Record<string, string>, onProgress: OnProgress) {
  return new Promise<{ status: number; statusText: string; text: string }>((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(method, url);
    xhr.withCredentials = true;
    for (const [k, v] of Object.entries(headers)) xhr.setRequestHeader(k, v);
    // fetch() cannot report how much of a body was sent; XHR can.
    xhr.upload.onprogress = (e) => e.lengthComputable && onProgress(e.loaded, e.total);
    xhr.onload = () => resolve({ status: xhr.status, statusText: xhr.statusText, text: xhr.responseText });
    xhr.onerror = () => reject(new Error("the upload could not reach the server (network error)"));
    xhr.onabort = () => reject(new Error("the upload was cancelled"));
    xhr.send(form);
  });
}

/** A multipart POST with upload progress; errors and a lost session as ``request`` has them. */
export async function uploadWithProgress<T>(path: string, form: FormData, onProgress: OnProgress, retried = false): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  const token = await csrfToken();
  if (token) headers["X-CSRFToken"] = token;
  const response = await xhrSend("POST", path, form, headers, onProgress);
  let parsed: unknown = undefined;
  if (response.text) {
    try {
      parsed = JSON.parse(response.text);
    } catch {
      parsed = response.text;
    }
  }
  if (response.status < 200 || response.status >= 300) {
    if (isSessionLost(response.status, parsed) && unauthorizedHandler && !retried) {
      if (await unauthorizedHandler()) return uploadWithProgress<T>(path, form, onProgress, true);
    }
    throw new ApiError(response.status, parsed, describeError(parsed, `${response.status} ${response.statusText}`));
  }
  return parsed as T;
}

export const http = {
  get: <T>(path: string, query?: Query, signal?: AbortSignal) => request<T>("GET", path, { query, signal }),
  post: <T>(path: string, body?: unknown, headers?: Record<string, string>) =>
    request<T>("POST", path, { body: body ?? {}, headers }),
  put: <T>(path: string, body: unknown, headers?: Record<string, string>) => request<T>("PUT", path, { body, headers }),
  patch: <T>(path: string, body: unknown) => request<T>("PATCH", path, { body }),
  del: <T = void>(path: string, query?: Query) => request<T>("DELETE", path, { query }),
  upload: <T>(path: string, form: FormData, onProgress?: OnProgress) =>
    onProgress ? uploadWithProgress<T>(path, form, onProgress) : request<T>("POST", path, { form }),
};

export function errorText(err: unknown): string {
  if (err instanceof ApiError) return err.message;
  if (err instanceof Error) return err.message;
  return String(err);
}

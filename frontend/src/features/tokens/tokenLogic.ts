// The tokens page's pure parts: the name rule (the API's, checked before sending) and the
// reading of a refused create.
import { ApiError, errorText } from "../../api/client";
import type { ApiToken } from "../../api/tokens";

/** ApiToken.name's column length; the API answers 400 past it. */
export const TOKEN_NAME_MAX = 80;

export function validateTokenName(name: string): string | null {
  const trimmed = name.trim();
  if (!trimmed) return "Enter a name that says what or who uses the token.";
  if (trimmed.length > TOKEN_NAME_MAX) return `At most ${TOKEN_NAME_MAX} characters (this one has ${trimmed.length}).`;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(trimmed)) return "Control characters are not allowed.";
  return null;
}

/** A refused create: the reason on the name field when the API names it, else one message. */
export function createTokenErrors(err: unknown): { name?: string; other?: string } {
  const body = err instanceof ApiError && err.status === 400 ? err.body : null;
  if (body && typeof body === "object") {
    const reasons = (body as Record<string, unknown>).name;
    if (Array.isArray(reasons) && reasons.length) return { name: reasons.map(String).join(" ") };
  }
  return { other: errorText(err) };
}

export type TokenState = "active" | "revoked";

export function tokenState(token: Pick<ApiToken, "revoked_at">): TokenState {
  return token.revoked_at ? "revoked" : "active";
}

/** How to try a key at once: the call the user's scripts will make. */
export function tokenCurl(key: string, origin: string): string {
  return `curl -H "X-Auth-Token: ${key}" ${origin}/api/v1/projects`;
}

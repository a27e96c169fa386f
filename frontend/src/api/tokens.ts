import { http } from "./client";
import { asPage } from "./lists";
import type { components } from "./schema";
import type { Page } from "./types";

type S = components["schemas"];
/** A token as listed: never its key. */
export type ApiToken = S["ApiToken"];
/** The answer to a create: the only one that holds the key. */
export type ApiTokenCreated = S["ApiTokenCreated"];

/** The signed-in user's own tokens in the current tenant. */
export const tokensApi = {
  list: async (q: { page?: number; page_size?: number }) =>
    asPage(await http.get<Page<ApiToken> | ApiToken[]>("/api/v1/tokens", q)),
  /** 201 with the key; 400 on name (required, at most 80 characters) or too_many_tokens. */
  create: (name: string) => http.post<ApiTokenCreated>("/api/v1/tokens", { name }),
  /** Revokes at once; the row stays listed with revoked_at. */
  revoke: (id: string) => http.del(`/api/v1/tokens/${id}`),
};

import { describe, expect, it } from "vitest";
import { ApiError } from "../../api/client";
import { createTokenErrors, tokenCurl, tokenState, TOKEN_NAME_MAX, validateTokenName } from "./tokenLogic";

describe("token names", () => {
  it("needs a name, trimmed", () => {
    expect(validateTokenName("")).toMatch(/Enter a name/);
    expect(validateTokenName("   ")).toMatch(/Enter a name/);
    expect(validateTokenName("  ci runner  ")).toBeNull();
  });
  it("takes at most the column's length", () => {
    expect(validateTokenName("x".repeat(TOKEN_NAME_MAX))).toBeNull();
    expect(validateTokenName("x".repeat(TOKEN_NAME_MAX + 1))).toMatch(/At most 80 characters \(this one has 81\)/);
  });
  it("refuses control characters", () => {
    expect(validateTokenName("two\tparts")).toMatch(/Control characters/);
  });
});

describe("a refused create", () => {
  it("puts the API's reason on the name field", () => {
    const err = new ApiError(400, { name: ["Ensure this field has no more than 80 characters."] }, "name: …");
    expect(createTokenErrors(err)).toEqual({ name: "Ensure this field has no more than 80 characters." });
  });
  it("shows anything else as one message", () => {
    const cap = new ApiError(400, { detail: "You have 50 active API tokens", code: "too_many_tokens" }, "You have 50 active API tokens");
    expect(createTokenErrors(cap)).toEqual({ other: "You have 50 active API tokens" });
    expect(createTokenErrors(new Error("offline"))).toEqual({ other: "offline" });
  });
});

describe("token rows", () => {
  it("is revoked once it has a revoke time", () => {
    expect(tokenState({ revoked_at: null })).toBe("active");
    expect(tokenState({ revoked_at: "2026-01-01T00:00:00Z" })).toBe("revoked");
  });
  it("shows a call that tries the key", () => {
    expect(tokenCurl("abc", "http://h:8000")).toBe('curl -H "X-Auth-Token: abc" http://h:8000/api/v1/projects');
  });
});

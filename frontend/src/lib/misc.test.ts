import { describe, expect, it } from "vitest";
import { buildUrl, describeError, isSessionLost, readCookie } from "../api/client";
import { asList, asPage } from "../api/lists";
import { toCsv } from "./download";
import { timeLeft } from "./format";
import { autoStopHours } from "../features/serving/autoStop";

describe("client helpers", () => {
  it("reads the csrf cookie", () => {
    expect(readCookie("a=1; csrftoken=abc%3D; b=2", "csrftoken")).toBe("abc=");
    expect(readCookie("a=1", "csrftoken")).toBeNull();
  });
  it("builds query strings without empty values", () => {
    expect(buildUrl("/x", { a: 1, b: "", c: undefined, d: "s p" })).toBe("/x?a=1&d=s+p");
  });
  it("turns DRF errors into one line", () => {
    expect(describeError({ detail: "Nope" }, "x")).toBe("Nope");
    expect(describeError({ name: ["Too long."], non_field_errors: ["Bad."] }, "x")).toBe("name: Too long.; Bad.");
    expect(describeError(undefined, "fallback")).toBe("fallback");
  });
  it("tells a lost session from a role or quota refusal", () => {
    expect(isSessionLost(401, undefined)).toBe(true);
    expect(isSessionLost(403, { detail: "Authentication credentials were not provided." })).toBe(true);
    expect(isSessionLost(403, { detail: "Quota exceeded", code: "quota_exceeded" })).toBe(false);
    expect(isSessionLost(404, { detail: "Not found." })).toBe(false);
  });
  it("accepts arrays and pages", () => {
    expect(asList([1, 2])).toEqual([1, 2]);
    expect(asList({ count: 1, next: null, previous: null, results: [3] })).toEqual([3]);
    expect(asPage([1]).count).toBe(1);
  });
});

describe("exports and times", () => {
  it("writes CSV with quoting", () => {
    expect(toCsv(["a", "b"], [[1, "x,y"], [null, 'q"']])).toBe('a,b\n1,"x,y"\n,"q"""\n');
  });
  it("counts down", () => {
    const now = Date.parse("2026-01-01T00:00:00Z");
    expect(timeLeft("2026-01-01T01:05:00Z", now)).toBe("1h 05m");
    expect(timeLeft("2026-01-01T00:04:09Z", now)).toBe("4m 09s");
    expect(timeLeft("2025-12-31T00:00:00Z", now)).toBe("due now");
    expect(timeLeft(null, now)).toBeNull();
  });
});

describe("auto stop", () => {
  it("maps the choices to hours, custom 1–24", () => {
    expect(autoStopHours("1", "")).toEqual({ enabled: true, hours: 1 });
    expect(autoStopHours("6", "")).toEqual({ enabled: true, hours: 6 });
    expect(autoStopHours("off", "")).toEqual({ enabled: false });
    expect(autoStopHours("custom", "12")).toEqual({ enabled: true, hours: 12 });
    expect(autoStopHours("custom", "25")).toBeNull();
    expect(autoStopHours("custom", "0")).toBeNull();
    expect(autoStopHours("custom", "1.5")).toBeNull();
  });
});

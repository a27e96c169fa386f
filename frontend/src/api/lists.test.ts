import { afterEach, describe, expect, it, vi } from "vitest";
import { allPages, cursorOf, relativeNext } from "./lists";
import { datasetsApi, JobTimeout, waitForJob } from "./datasets";

afterEach(() => vi.unstubAllGlobals());

describe("allPages", () => {
  it("follows next past the first page instead of cutting the list", async () => {
    const calls: string[] = [];
    vi.stubGlobal("fetch", async (url: string) => {
      calls.push(url);
      const page = url.includes("page=2") ? 2 : 1;
      const body = page === 1
        ? { count: 150, next: "http://testserver/api/v1/models?page=2&page_size=100", previous: null, results: Array.from({ length: 100 }, (_, i) => i) }
        : { count: 150, next: null, previous: "x", results: Array.from({ length: 50 }, (_, i) => 100 + i) };
      return new Response(JSON.stringify(body), { status: 200 });
    });
    const all = await allPages<number>("/api/v1/models");
    expect(all).toHaveLength(150);
    expect(all.at(-1)).toBe(149);
    expect(calls).toEqual(["/api/v1/models?page_size=100", "/api/v1/models?page=2&page_size=100"]);
  });
  it("accepts a bare array", async () => {
    vi.stubGlobal("fetch", async () => new Response(JSON.stringify([1, 2]), { status: 200 }));
    expect(await allPages<number>("/x")).toEqual([1, 2]);
  });
  it("keeps next same-origin", () => {
    expect(relativeNext("http://other:8000/api/v1/x?page=3")).toBe("/api/v1/x?page=3");
  });
});

describe("waitForJob", () => {
  it("gives up with a JobTimeout when the job never ends", async () => {
    vi.spyOn(datasetsApi, "job").mockResolvedValue({ id: "j", kind: "import", status: "running", progress: 0.1 } as never);
    await expect(waitForJob("j", undefined, { intervalMs: 5, timeoutMs: 30 })).rejects.toBeInstanceOf(JobTimeout);
  });
  it("returns a failed job for the caller to show", async () => {
    vi.spyOn(datasetsApi, "job").mockResolvedValue({ id: "j", kind: "import", status: "failed", progress: 1 } as never);
    expect((await waitForJob("j", undefined, { intervalMs: 5, timeoutMs: 30 })).status).toBe("failed");
  });
});

describe("format", async () => {
  const f = await import("../lib/format");
  it("reads parameters and durations as people do", () => {
    expect(f.paramValue("preference", "performance_first")).toBe("Performance first");
    expect(f.paramValue("incremental_from", null)).toBe("—");
    expect(f.paramValue("train_ratio", 0.8)).toBe("80.0%");
    expect(f.paramValue("max_minutes", 6)).toBe("6 min 00 s");
    expect(f.formatDuration(3725)).toBe("1 h 02 min");
    expect(f.formatBytes(5 * 1024 ** 2)).toBe("5.0 MB");
  });
});

describe("session expiry", async () => {
  const { http, onUnauthorized } = await import("./client");
  it("retries the request once the user signed in again", async () => {
    let calls = 0;
    vi.stubGlobal("fetch", async () => {
      calls++;
      return calls === 1
        ? new Response(JSON.stringify({ detail: "Authentication credentials were not provided." }), { status: 403 })
        : new Response(JSON.stringify({ ok: true }), { status: 200 });
    });
    let asked = 0;
    onUnauthorized(async () => { asked++; return true; });
    expect(await http.get<{ ok: boolean }>("/api/v1/projects")).toEqual({ ok: true });
    expect([calls, asked]).toEqual([2, 1]);
    onUnauthorized(null);
  });
  it("keeps the error when the user gave up", async () => {
    vi.stubGlobal("fetch", async () => new Response(JSON.stringify({ detail: "x" }), { status: 401 }));
    onUnauthorized(async () => false);
    await expect(http.get("/api/v1/projects")).rejects.toMatchObject({ status: 401 });
    onUnauthorized(null);
  });
});

describe("cursorOf", () => {
  it("takes the cursor of a next/previous link, absolute or relative", () => {
    expect(cursorOf("http://h/api/v1/datasets/x/samples?cursor=eyJrIjpbXX0&page_size=20")).toBe("eyJrIjpbXX0");
    expect(cursorOf("/api/v1/datasets/x/samples?page_size=20&cursor=abc")).toBe("abc");
  });
  it("is null without a link or for a page-number link", () => {
    expect(cursorOf(null)).toBeNull();
    expect(cursorOf(undefined)).toBeNull();
    expect(cursorOf("/api/v1/datasets?page=2")).toBeNull();
  });
});

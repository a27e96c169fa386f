import { describe, expect, it } from "vitest";
import { batchOutput, bySample, countAtOrAbove, inOrder, jobProgressText, suggestedLabels, suggestionText, usableVersions } from "./assistLogic";

const s = (confidence: number, status: "pending" | "accepted" | "rejected" = "pending") => ({ confidence, status });

describe("countAtOrAbove", () => {
  it("counts pending suggestions at or above the threshold, as the API accepts them", () => {
    const rows = [s(0.95), s(0.9), s(0.89), s(0.5), s(0.99, "accepted"), s(0.97, "rejected")];
    expect(countAtOrAbove(rows, 0.9)).toBe(2);
    expect(countAtOrAbove(rows, 0)).toBe(4);
    expect(countAtOrAbove(rows, 1)).toBe(0);
  });
  it("treats the slider's hundredths exactly (no float drift at the edge)", () => {
    expect(countAtOrAbove([s(0.29)], 0.1 + 0.19)).toBe(1);
    expect(countAtOrAbove([s(0.7)], 0.7000000001)).toBe(1);
    expect(countAtOrAbove([s(0.699)], 0.7)).toBe(0);
  });
});

describe("suggestion text", () => {
  it("names the label and the confidence", () => {
    expect(suggestionText({ payload: { labels: ["cat"] }, confidence: 0.9234 })).toBe("cat 0.92");
  });
  it("summarizes detection boxes", () => {
    const payload = { objects: [
      { label: "cat", bbox: [0, 0, 1, 1] as [number, number, number, number], score: 0.8 },
      { label: "dog", bbox: [1, 1, 2, 2] as [number, number, number, number] },
      { label: "cat", bbox: [2, 2, 3, 3] as [number, number, number, number] },
    ] };
    expect(suggestedLabels(payload)).toEqual(["cat", "dog"]);
    expect(suggestionText({ payload, confidence: 0.81 })).toBe("3 boxes: cat, dog 0.81");
    expect(suggestionText({ payload: { objects: [] }, confidence: 0.4 })).toBe("no objects 0.40");
  });
});

describe("ordering and lookup", () => {
  it("keeps label-next order and drops what was not fetched", () => {
    expect(inOrder(["c", "a", "x", "b"], [{ id: "a" }, { id: "b" }, { id: "c" }]).map((x) => x.id)).toEqual(["c", "a", "b"]);
  });
  it("maps suggestions by sample", () => {
    const m = bySample([{ id: "s1", sample: { id: "a" } }, { id: "s2", sample: { id: "b" } }]);
    expect(m.get("b")?.id).toBe("s2");
    expect(m.has("c")).toBe(false);
  });
  it("offers completed versions, newest first (V010 after V009)", () => {
    const vs = [{ name: "V009", status: "completed" }, { name: "V010", status: "completed" }, { name: "V011", status: "running" }];
    expect(usableVersions(vs).map((v) => v.name)).toEqual(["V010", "V009"]);
  });
});

describe("jobProgressText", () => {
  it("shows done/total, suggestions and the ETA while running", () => {
    const text = jobProgressText({ status: "running", counts: { samples: 12, total: 40, suggestions: 11, eta_seconds: 95 } });
    expect(text).toBe("12 / 40 samples · 11 suggestions · about 1 min 35 s left");
  });
  it("drops the ETA once the job ended", () => {
    expect(jobProgressText({ status: "succeeded", counts: { samples: 40, total: 40, suggestions: 1, eta_seconds: 0 } })).toBe("40 / 40 samples · 1 suggestion");
  });
  it("counts files for batch prediction", () => {
    expect(jobProgressText({ status: "cancelled", counts: { files: 3, total: 9 } }, "files")).toBe("3 / 9 files");
    expect(jobProgressText({ status: "succeeded", counts: { files: 9, total: 9, succeeded: 7, failed: 2 } }, "files")).toBe("9 / 9 files · 7 succeeded · 2 failed");
  });
});

describe("batchOutput", () => {
  it("names results.jsonl, or predictions.csv for tables, else nothing", () => {
    expect(batchOutput({ results: "s3://b/out/results.jsonl", files: 3 })).toBe("s3://b/out/results.jsonl");
    expect(batchOutput({ predictions: "s3://b/out/predictions.csv" })).toBe("s3://b/out/predictions.csv");
    expect(batchOutput({ files: 0 })).toBeNull();
    expect(batchOutput(null)).toBeNull();
  });
});

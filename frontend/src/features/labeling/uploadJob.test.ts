import { describe, expect, it } from "vitest";
import type { Job } from "../../api/types";
import { importAnswer, importStatus } from "./uploadJob";

const job = (over: Partial<Job>): Job => ({
  id: "j", kind: "dataset_upload", status: "running", progress: 0.5, counts: {}, errors: [], detail: "", result: {},
  target_type: "dataset", target_id: "d", cancel_requested: false, created_at: "", started_at: null, finished_at: null,
  ...over,
} as Job);

describe("an upload's import job", () => {
  it("says what it does while it runs, with the samples written and the time left", () => {
    expect(importStatus(job({ status: "queued" }))).toMatch(/waiting for a worker/);
    expect(importStatus(job({ counts: { samples_written: 12000, eta_seconds: 90 } })))
      .toBe("Importing: 12,000 samples written · about 1 min 30 s left");
    expect(importStatus(job({ cancel_requested: true }))).toBe("Cancelling the import…");
    expect(importStatus(job({ status: "succeeded" }))).toBe("");
  });

  it("answers with the job's result, each refused file with its reason", () => {
    const done = job({
      status: "succeeded",
      result: { accepted: [{ file: "big.txt", id: "s1", count: 3000 }], rejected: [{ file: "bin.txt", reason: "contains NUL bytes" }] },
      errors: [{ file: "bin.txt", reason: "contains NUL bytes" }],
    });
    expect(importAnswer(done, ["big.txt", "bin.txt"])).toEqual({
      accepted: [{ file: "big.txt", id: "s1", count: 3000 }], rejected: [{ file: "bin.txt", reason: "contains NUL bytes" }],
    });
  });

  it("refuses every file of a cancelled import, keeping the reasons it knew", () => {
    const cancelled = job({ status: "cancelled", errors: [{ file: "a+b.txt", reason: "plus sign" }] });
    expect(importAnswer(cancelled, ["a+b.txt", "big.txt"])).toEqual({
      accepted: [],
      rejected: [{ file: "a+b.txt", reason: "plus sign" }, { file: "big.txt", reason: "the import was cancelled; the file was not kept" }],
    });
  });
});

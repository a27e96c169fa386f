import { describe, expect, it } from "vitest";
import { checkReplacementCsv, checkStorageFile, planFileUploads, storageBaseName, storageTarget, uploadTotals } from "./upload";

const MB = 1024 * 1024;

describe("storage picker uploads", () => {
  it("refuses, with the API's reasons, what POST /storage/objects would refuse", () => {
    expect(checkStorageFile({ name: "table.csv", size: 10 })).toBeNull();
    expect(checkStorageFile({ name: "TABLE.CSV", size: 10 })).toBeNull();
    expect(checkStorageFile({ name: "photo.gif", size: 10 })).toBe("only .csv files can be put here");
    expect(checkStorageFile({ name: "noext", size: 10 })).toBe("only .csv files can be put here");
    expect(checkStorageFile({ name: ".hidden.csv", size: 10 })).toMatch(/cannot start with "."/);
    expect(checkStorageFile({ name: "a:b.csv", size: 10 })).toMatch(/\\\/:\*\?"<>\|/);
    expect(checkStorageFile({ name: "empty.csv", size: 0 })).toBe("file is empty (0 bytes)");
    expect(checkStorageFile({ name: "big.csv", size: 9 * MB })).toBe("file is 9.0 MB, larger than the 8.0 MB allowed per request");
  });

  it("takes any .csv as a replacement of the dataset's CSV, whatever its local name", () => {
    expect(checkReplacementCsv({ name: "My export (2).CSV", size: 10 })).toBeNull();
    expect(checkReplacementCsv({ name: "export.xlsx", size: 10 })).toBe("only a .csv file can replace the dataset's CSV");
    expect(checkReplacementCsv({ name: "empty.csv", size: 0 })).toBe("file is empty (0 bytes)");
    expect(checkReplacementCsv({ name: "big.csv", size: 9 * MB })).toBe("file is 9.0 MB, larger than the 8.0 MB allowed per request");
    expect(storageBaseName("s3://b/data/customers.csv")).toBe("customers.csv");
  });

  it("puts a file into the folder shown", () => {
    expect(storageTarget("s3://b/data/", "t.csv")).toBe("s3://b/data/t.csv");
    expect(storageTarget("s3://b/data", "t.csv")).toBe("s3://b/data/t.csv");
  });

  it("sends only what passes the check and counts bytes of what is sent", () => {
    const items = planFileUploads(
      [{ name: "a.csv", size: 100 }, { name: "b.gif", size: 50 }, { name: "c.csv", size: 300 }],
      (f) => checkStorageFile(f),
    );
    expect(items.map((i) => i.status)).toEqual(["waiting", "refused", "waiting"]);
    expect(items[1].reason).toBe("only .csv files can be put here");
    expect(uploadTotals(items)).toEqual({ progress: 0, done: 0, refused: 1, pending: 2 });
    items[0] = { ...items[0], status: "done", sent: 100 };
    items[2] = { ...items[2], status: "uploading", sent: 100 };
    expect(uploadTotals(items)).toEqual({ progress: 0.5, done: 1, refused: 1, pending: 1 });
    items[2] = { ...items[2], status: "refused", reason: "a file already exists at this path" };
    expect(uploadTotals(items)).toEqual({ progress: 1, done: 1, refused: 2, pending: 0 });
  });
});

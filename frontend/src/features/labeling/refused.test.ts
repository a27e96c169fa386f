import { describe, expect, it } from "vitest";
import { fileName, refusedCount, refusedLabel } from "./SyncButton";
import { carriesFiles } from "./useFileDrop";

describe("refused files after a sync", () => {
  it("counts the total, not only the first 1,000 listed", () => {
    const errors = [{ file: "s3://b/x/photo.gif", reason: ".gif is not a supported image type (jpg, jpeg, png, bmp)", skipped: true }];
    expect(refusedCount({ counts: { errors_total: 100_000 }, errors })).toBe(100_000);
    expect(refusedCount({ counts: {}, errors })).toBe(1);
    expect(refusedCount({ counts: {}, errors: [] })).toBe(0);
    expect(refusedLabel(1)).toBe("1 file refused");
    expect(refusedLabel(100_000)).toBe("100,000 files refused");
  });

  it("shows a file by its key; a manifest line as it is", () => {
    expect(fileName("s3://bucket/a/b/photo.gif")).toBe("a/b/photo.gif");
    expect(fileName("s3://bucket/m.manifest:3")).toBe("m.manifest:3");
    expect(fileName("photo.gif")).toBe("photo.gif");
  });

  it("takes drops of files only", () => {
    expect(carriesFiles(["Files"])).toBe(true);
    expect(carriesFiles(["text/plain"])).toBe(false);
    expect(carriesFiles(undefined)).toBe(false);
  });
});

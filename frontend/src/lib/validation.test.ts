import { describe, expect, it } from "vitest";
import {
  normalizeFolder, validateColor, validateCsvPath, validateFolderName, validateLabelName, validateLabelSet,
  validateOutputPath, validateProjectName, validateRange,
} from "./validation";

describe("project name", () => {
  it.each(["a", "flowers_1", "Det-2", "A".repeat(20)])("accepts %s", (name) => {
    expect(validateProjectName(name)).toBeNull();
  });
  it.each(["", "1abc", "_abc", "a b", "a.b", "花", "A".repeat(21)])("rejects %s", (name) => {
    expect(validateProjectName(name)).not.toBeNull();
  });
});

describe("label name", () => {
  it.each(["cat", "向日葵", "a_b-1", "x".repeat(32), "9lives"])("accepts %s", (name) => {
    expect(validateLabelName(name)).toBeNull();
  });
  it.each(["", "a b", "a/b", "x".repeat(33), "a.b"])("rejects %s", (name) => {
    expect(validateLabelName(name)).not.toBeNull();
  });
});

describe("label set", () => {
  it("requires colours only where the type needs them", () => {
    expect(validateLabelSet([{ name: "cat", color: "" }], false)).toEqual([null]);
    expect(validateLabelSet([{ name: "cat", color: "" }], true)[0]).toMatch(/color/i);
    expect(validateLabelSet([{ name: "cat", color: "#ff0000" }], true)).toEqual([null]);
  });
  it("flags duplicates", () => {
    expect(validateLabelSet([{ name: "a", color: "" }, { name: "a", color: "" }], false)).toEqual([null, "Duplicate label name."]);
  });
  it("checks hex colours", () => {
    expect(validateColor("#12abEF")).toBeNull();
    expect(validateColor("red")).not.toBeNull();
  });
});

describe("output path", () => {
  const input = "s3://exeml/acme/flowers/in";
  it("accepts a sibling folder", () => {
    expect(validateOutputPath(input, "s3://exeml/acme/flowers/out/")).toBeNull();
    expect(validateOutputPath(input, "s3://exeml/acme/flowers/input2/")).toBeNull();
  });
  it("rejects the same folder, with or without a trailing slash", () => {
    expect(validateOutputPath(input, "s3://exeml/acme/flowers/in/")).toMatch(/differ/);
  });
  it("rejects a folder under the input", () => {
    expect(validateOutputPath(input, "s3://exeml/acme/flowers/in/out")).toMatch(/under/);
  });
  it("normalises folders", () => {
    expect(normalizeFolder("s3://b/p//")).toBe("s3://b/p/");
  });
});

describe("csv path", () => {
  it("accepts a csv file in a folder", () => {
    expect(validateCsvPath("s3://exeml/acme/bank/train.csv")).toBeNull();
  });
  it.each([
    "s3://exeml/train.csv",
    "s3://exeml/acme/bank/train.txt",
    "s3://exeml/acme/bank/",
    "exeml/acme/train.csv",
    "s3://exeml/acme/bank/tr ain.csv",
  ])("rejects %s", (path) => {
    expect(validateCsvPath(path)).not.toBeNull();
  });
});

describe("folder name", () => {
  it("allows nested names", () => expect(validateFolderName("a/b/c", "s3://b/p/")).toBeNull());
  it.each(["", ".a", "a.", "/a", "a/", "a*b", "a|b", "a//b"])("rejects %s", (name) => {
    expect(validateFolderName(name, "s3://b/p/")).not.toBeNull();
  });
  it("limits the full path length", () => {
    expect(validateFolderName("x".repeat(1100), "s3://b/")).toMatch(/1023/);
  });
});

describe("ranges", () => {
  it("checks bounds and integers", () => {
    expect(validateRange(60, 6, 6000, true)).toBeNull();
    expect(validateRange(5, 6, 6000, true)).not.toBeNull();
    expect(validateRange(6.5, 6, 6000, true)).not.toBeNull();
    expect(validateRange(Number.NaN, 0, 1)).not.toBeNull();
  });
});

import { describe, expect, it } from "vitest";
import { checkFile, formatBytes, planBatches, uploadRules } from "./upload";

const MB = 1024 * 1024;

describe("upload rules", () => {
  it("limits images to 5 MB and sounds to 4 MB", () => {
    const image = uploadRules("image_classification");
    expect(checkFile({ name: "a.jpg", size: 5 * MB }, image)).toBeNull();
    expect(checkFile({ name: "a.jpg", size: 5 * MB + 1 }, image)).toMatch(/5\.0 MB/);
    const sound = uploadRules("sound_classification");
    expect(checkFile({ name: "a.wav", size: 4 * MB + 1 }, sound)).not.toBeNull();
    expect(checkFile({ name: "a.mp3", size: 10 }, sound)).toMatch(/Unsupported/);
  });

  it("rejects names with Chinese characters, +, spaces or tabs", () => {
    const rules = uploadRules("image_classification");
    for (const name of ["猫.jpg", "a+b.jpg", "a b.jpg", "a\tb.jpg"]) {
      expect(checkFile({ name, size: 10 }, rules)).not.toBeNull();
    }
  });

  it("packs files into requests of at most 8 MB", () => {
    const files = [3, 3, 3, 5, 1, 8].map((n, i) => ({ name: `${i}.jpg`, size: n * MB }));
    const batches = planBatches(files, 8 * MB);
    expect(batches.map((b) => b.map((f) => f.name))).toEqual([["0.jpg", "1.jpg"], ["2.jpg", "3.jpg"], ["4.jpg"], ["5.jpg"]]);
    for (const b of batches) expect(b.reduce((s, f) => s + f.size, 0)).toBeLessThanOrEqual(8 * MB);
  });

  it("packs many small files into requests of at most 200 files", () => {
    const files = Array.from({ length: 450 }, (_, i) => ({ name: `${i}.jpg`, size: 100 }));
    const batches = planBatches(files, 8 * MB);
    expect(batches.map((b) => b.length)).toEqual([200, 200, 50]);
    expect(batches.flat().map((f) => f.name)).toEqual(files.map((f) => f.name));
  });

  it("formats sizes", () => {
    expect(formatBytes(512)).toBe("512 B");
    expect(formatBytes(8 * MB)).toBe("8.0 MB");
  });
});

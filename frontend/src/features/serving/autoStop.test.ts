import { describe, expect, it } from "vitest";
import { idleMinutes } from "./autoStop";

describe("idle stop minutes", () => {
  it("takes whole minutes in the API's range and refuses the rest", () => {
    expect(idleMinutes("30")).toBe(30);
    expect(idleMinutes(" 5 ")).toBe(5);
    expect(idleMinutes("1440")).toBe(1440);
    expect(idleMinutes("4")).toBeNull();
    expect(idleMinutes("1441")).toBeNull();
    expect(idleMinutes("7.5")).toBeNull();
    expect(idleMinutes("")).toBeNull();
  });
});

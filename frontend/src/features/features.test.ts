import { describe, expect, it } from "vitest";
import { ApiError } from "../api/client";
import type { Label } from "../api/types";
import { passwordErrors } from "./auth/PasswordDialog";
import { shortcutKeys } from "./labeling/SoundLabeler";
import { quotaRows } from "./pages/UsagePage";
import { curlExample } from "./serving/ApiExample";
import { predictiveTemplate } from "./serving/TestPanel";
import { thresholdCsv } from "./training/charts";

const label = (name: string, shortcut = ""): Label => ({ id: name, name, color: "#000000", shortcut, count: 0, created_at: "" });

describe("sound shortcuts", () => {
  it("uses a label's own key and numbers the rest, skipping taken digits", () => {
    const keys = shortcutKeys([label("dog", "d"), label("cat"), label("bird", "1"), label("cow")]);
    expect(keys.get("d")).toBe("dog");
    expect(keys.get("1")).toBe("bird");
    expect(keys.get("2")).toBe("cat");
    expect(keys.get("3")).toBe("cow");
  });
  it("matches case-insensitively", () => {
    expect(shortcutKeys([label("dog", "D")]).get("d")).toBe("dog");
  });
});

describe("usage quotas", () => {
  it("names each quota and shows it in its unit", () => {
    const rows = quotaRows([
      { quota: "max_projects", limit: 10, used: 2 },
      { quota: "max_storage_bytes", limit: 10 * 1024 ** 3, used: 1536 },
      { quota: "max_training_minutes_per_month", limit: null, used: 12.5 },
    ]);
    expect(rows.map((r) => r.name)).toEqual(["Projects", "Storage", "Training minutes this month"]);
    expect(rows[0]).toMatchObject({ used: "2", limit: "10", share: 0.2 });
    expect(rows[1]).toMatchObject({ used: "1.5 KB", limit: "10.00 GB" });
    expect(rows[2]).toMatchObject({ used: "12.5 min", limit: "Unlimited", share: null });
    expect(rows.some((r) => r.name === "?")).toBe(false);
  });
});

describe("service test helpers", () => {
  it("fills the predictive body from a preview row with the label column blank", () => {
    const body = JSON.parse(predictiveTemplate(["attr_1", "attr_2", "attr_3"], [58, "management", "yes"], "attr_3"));
    expect(body).toEqual({ data: { count: 1, req_data: [{ attr_1: "58", attr_2: "management", attr_3: "" }] } });
  });
  it("writes a curl call with the token header and the right field", () => {
    const img = curlExample({ id: "s1", url: "/v1/infers/s1", task_type: "image_classification" }, "http://h");
    expect(img).toContain('"http://h/v1/infers/s1"');
    expect(img).toContain("X-Auth-Token");
    expect(img).toContain("images=@");
    expect(curlExample({ id: "s1", url: "", task_type: "sound_classification" }, "http://h")).toContain("files=@");
    expect(curlExample({ id: "s1", url: "https://x/v1/infers/s1", task_type: "text_classification" }, "http://h")).toContain('"https://x/v1/infers/s1"');
  });
});

describe("threshold csv", () => {
  it("has one row per point", () => {
    const csv = thresholdCsv([{ threshold: 0.5, precision: 0.8, recall: 0.7, f1: 0.75, tpr: 0.7, fpr: 0.1 }]);
    expect(csv).toBe("threshold,precision,recall,f1,tpr,fpr\n0.5,0.8,0.7,0.75,0.7,0.1\n");
  });
});

describe("password change errors", () => {
  it("puts each field's reasons under that field", () => {
    const weak = new ApiError(400, { new_password: ["This password is too short.", "This password is too common."] }, "x");
    expect(passwordErrors(weak)).toEqual({ current_password: undefined, new_password: "This password is too short. This password is too common." });
    const wrong = new ApiError(400, { current_password: ["The current password is wrong."] }, "x");
    expect(passwordErrors(wrong).current_password).toBe("The current password is wrong.");
  });
  it("shows anything else as one message", () => {
    expect(passwordErrors(new ApiError(429, { detail: "Request was throttled." }, "Request was throttled."))).toEqual({ other: "Request was throttled." });
  });
});

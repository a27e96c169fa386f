import { describe, expect, it } from "vitest";
import type { AnnotationEvent, LabelingTask } from "../../api/team";
import {
  canLabelRole, createTaskErrors, grantableRoles, hasCapability, inviteErrors, lastLabeler, reviewDecisions, reviewOf, taskProgress,
} from "./teamLogic";

const event = (username: string, source: string, action: string, at: string): AnnotationEvent => ({
  id: at, username, source, action, before: null, after: null, comment: "", created_at: at,
});

describe("capabilities", () => {
  it("reads the server's capability list when there is one", () => {
    expect(hasCapability(["read", "label"], "labeler", "label")).toBe(true);
    expect(hasCapability(["read", "label"], "labeler", "write")).toBe(false);
    expect(hasCapability([], "owner", "write")).toBe(false);
  });
  it("falls back on the role for an older backend", () => {
    expect(hasCapability(undefined, "viewer", "write")).toBe(false);
    expect(hasCapability(undefined, "viewer", "read")).toBe(true);
    expect(hasCapability(undefined, "member", "write")).toBe(true);
    expect(hasCapability(undefined, "member", "manage")).toBe(false);
    expect(hasCapability(undefined, "admin", "manage")).toBe(true);
    expect(hasCapability(undefined, undefined, "read")).toBe(false);
  });
  it("gives tasks only to roles that label, and the owner role only from an owner", () => {
    expect(["owner", "admin", "member", "labeler"].every((r) => canLabelRole(r as never))).toBe(true);
    expect(canLabelRole("reviewer")).toBe(false);
    expect(canLabelRole("viewer")).toBe(false);
    expect(grantableRoles("owner")).toContain("owner");
    expect(grantableRoles("admin")).not.toContain("owner");
    expect(grantableRoles("admin")).toContain("labeler");
  });
});

describe("reviews", () => {
  it("reads a sample's review whatever was sent", () => {
    expect(reviewOf({ review: { status: "rejected", comment: "wrong", by: "rita", at: "x" } })).toEqual({ status: "rejected", comment: "wrong", by: "rita", at: "x" });
    expect(reviewOf({ review: {} }).status).toBe("");
    expect(reviewOf({}).comment).toBe("");
    expect(reviewOf({ review: { status: "odd" } }).status).toBe("");
  });
  it("names the last labeler, not the reviewer", () => {
    const events = [
      event("lara", "console", "set", "2026-01-01T10:00:00Z"),
      event("rita", "review", "reject", "2026-01-01T11:00:00Z"),
      event("lars", "console", "set", "2026-01-01T10:30:00Z"),
    ];
    expect(lastLabeler(events)).toBe("lars");
    expect(lastLabeler([event("rita", "review", "accept", "2026-01-01T11:00:00Z")])).toBeNull();
    expect(lastLabeler([])).toBeNull();
  });
  it("sends the decided samples and wants a comment on a rejection", () => {
    const ok = reviewDecisions(["a", "b", "c"], {
      a: { decision: "accept", comment: "" },
      b: { decision: "reject", comment: "  it is a square " },
      c: { decision: null, comment: "" },
    });
    expect(ok.error).toBeNull();
    expect(ok.items).toEqual([
      { sample_id: "a", decision: "accept", comment: "" },
      { sample_id: "b", decision: "reject", comment: "it is a square" },
    ]);
    expect(reviewDecisions(["a"], { a: { decision: "reject", comment: " " } }).error).toMatch(/comment/);
    expect(reviewDecisions(["a"], {}).error).toMatch(/at least one/);
    // A draft for a sample no longer to review is not sent.
    expect(reviewDecisions(["a"], { a: { decision: "accept", comment: "" }, z: { decision: "accept", comment: "" } }).items).toHaveLength(1);
  });
});

describe("task forms and progress", () => {
  const task = (labeled: number, total: number, accepted = 0, rejected = 0) =>
    ({ size: total, progress: { total, labeled, accepted, rejected } }) as Pick<LabelingTask, "progress" | "size">;
  it("shows labelled of total with review counts", () => {
    expect(taskProgress(task(3, 5))).toEqual({ fraction: 0.6, text: "3/5 labelled" });
    expect(taskProgress(task(5, 5, 4, 1)).text).toBe("5/5 labelled · 4 accepted · 1 rejected");
    expect(taskProgress(task(0, 0)).fraction).toBe(0);
  });
  it("checks the task form before sending", () => {
    const base = { assignees: ["lara"], split: "per_task" as const, perTask: "10", maxSamples: "" };
    expect(createTaskErrors(base)).toBeNull();
    expect(createTaskErrors({ ...base, assignees: [] })).toMatch(/assignee/);
    expect(createTaskErrors({ ...base, perTask: "0" })).toMatch(/per task/);
    expect(createTaskErrors({ ...base, perTask: "2.5" })).toMatch(/per task/);
    expect(createTaskErrors({ ...base, split: "by_folder", perTask: "" })).toBeNull();
    expect(createTaskErrors({ ...base, maxSamples: "-1" })).toMatch(/At most/);
    expect(createTaskErrors({ ...base, maxSamples: "4" })).toBeNull();
  });
  it("checks the invite form", () => {
    expect(inviteErrors({ username: " ", password: "" })).toMatch(/username/);
    expect(inviteErrors({ username: "lara", password: "" })).toBeNull();
    expect(inviteErrors({ username: "lara", password: "short" })).toMatch(/8/);
  });
});

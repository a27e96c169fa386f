import { describe, expect, it } from "vitest";
import type { AnnotationEvent, LabelingTask } from "../../api/team";
import {
  actionTitle, answerText, canLabelRole, createTaskErrors, eventChange, grantableRoles, hasCapability, inviteErrors, lastLabelEvent, lastLabeler,
  overlapFraction, percentText, reviewDecisions, reviewOf, scoreText, sourceTitle, taskProgress,
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
  it("credits the current labels to the labeler or the model, never to a blind overlap answer", () => {
    const events = [
      event("lara", "human", "set", "2026-01-01T10:00:00Z"),
      event("olga", "human", "overlap", "2026-01-01T12:00:00Z"),
      event("max", "resnet-3", "set", "2026-01-01T11:00:00Z"),
    ];
    expect(lastLabelEvent(events)?.username).toBe("max");
    expect(sourceTitle(lastLabelEvent(events)!.source)).toBe("model suggestion (resnet-3)");
    expect(sourceTitle("human")).toBe("person");
    expect(sourceTitle("review")).toBe("review");
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

describe("history", () => {
  it("says what an answer was", () => {
    expect(answerText({ labels: ["cat", "dog"] })).toBe("cat, dog");
    expect(answerText({ labels: [] })).toBe("(none)");
    expect(answerText({})).toBe("(none)");
    expect(answerText(null)).toBe("(none)");
    const box = (label: string) => ({ label, bbox: [0, 0, 1, 1] });
    expect(answerText({ labels: ["car", "cat"], objects: [box("car"), box("car"), box("cat")] })).toBe("3 boxes: car ×2, cat");
    expect(answerText({ labels: ["car"], objects: [box("car")] })).toBe("1 box: car");
  });
  it("shows before → after, and nothing for a review that changed no labels", () => {
    expect(eventChange({ before: { labels: [] }, after: { labels: ["circle"] } })).toBe("(none) → circle");
    expect(eventChange({ before: { labels: ["circle"] }, after: { labels: ["square"] } })).toBe("circle → square");
    expect(eventChange({ before: {}, after: {} })).toBeNull();
    expect(eventChange({ before: null, after: null })).toBeNull();
  });
  it("names the actions", () => {
    expect(actionTitle("reject")).toBe("rejected");
    expect(actionTitle("overlap")).toMatch(/blind/);
    expect(actionTitle("something_new")).toBe("something new");
  });
});

describe("agreement and overlap", () => {
  it("writes fractions as percents and scores with two decimals, a dash for none", () => {
    expect(percentText(0.8333)).toBe("83%");
    expect(percentText(1)).toBe("100%");
    expect(percentText(null)).toBe("—");
    expect(percentText(undefined)).toBe("—");
    expect(scoreText(0.61234)).toBe("0.61");
    expect(scoreText(-0.2)).toBe("-0.20");
    expect(scoreText(null)).toBe("—");
  });
  it("turns the overlap percent into the fraction the API wants", () => {
    expect(overlapFraction("")).toBe(0);
    expect(overlapFraction("0")).toBe(0);
    expect(overlapFraction("20")).toBe(0.2);
    expect(overlapFraction("12.5")).toBe(0.125);
    expect(overlapFraction("50")).toBe(0.5);
    expect(overlapFraction("51")).toBeNull();
    expect(overlapFraction("-1")).toBeNull();
    expect(overlapFraction("x")).toBeNull();
  });
  it("wants two assignees for an overlap", () => {
    const base = { assignees: ["lara", "olga"], split: "per_task" as const, perTask: "10", maxSamples: "", overlap: "20" };
    expect(createTaskErrors(base)).toBeNull();
    expect(createTaskErrors({ ...base, assignees: ["lara"] })).toMatch(/two assignees/);
    expect(createTaskErrors({ ...base, assignees: ["lara"], overlap: "0" })).toBeNull();
    expect(createTaskErrors({ ...base, overlap: "60" })).toMatch(/0 to 50/);
  });
});

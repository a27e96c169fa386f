// The pure rules behind the Team and Tasks pages (tested in teamLogic.test.ts).
import type { AnnotationEvent, Capability, LabelingTask, ReviewDecision, ReviewItem, SampleReview } from "../../api/team";
import type { Role } from "../../api/types";

export const ROLES: Role[] = ["owner", "admin", "member", "reviewer", "labeler", "viewer"];

export const ROLE_HINTS: Record<Role, string> = {
  owner: "everything, including owners",
  admin: "everything but the owner role",
  member: "projects, training, deployment, labeling, review",
  reviewer: "accepts or rejects labelled tasks",
  labeler: "labels the tasks given to them",
  viewer: "sees everything, changes nothing",
};

/** Roles with the `label` capability: the ones a task can be given to. */
const LABELING_ROLES: ReadonlySet<Role> = new Set<Role>(["owner", "admin", "member", "labeler"]);
export const canLabelRole = (role: Role): boolean => LABELING_ROLES.has(role);

/** The roles a manager may grant: only an owner grants (or takes away) the owner role. */
export function grantableRoles(myRole: Role | undefined): Role[] {
  return myRole === "owner" ? ROLES : ROLES.filter((r) => r !== "owner");
}

/** A capability check that tolerates an older backend without `capabilities`. */
export function hasCapability(capabilities: readonly Capability[] | undefined, role: Role | undefined, cap: Capability): boolean {
  if (capabilities) return capabilities.includes(cap);
  if (!role) return false;
  // Before team roles: viewers read, members write, owners and admins manage.
  if (cap === "manage") return role === "owner" || role === "admin";
  if (cap === "account" || cap === "read" || cap === "infer" || cap === "tokens") return true;
  return role !== "viewer";
}

/** sample.review, whatever the server sent (the schema types it loosely). */
export function reviewOf(sample: { review?: unknown }): SampleReview {
  const r = (sample.review && typeof sample.review === "object" ? sample.review : {}) as Partial<SampleReview>;
  const status = r.status === "accepted" || r.status === "rejected" ? r.status : "";
  return { status, comment: typeof r.comment === "string" ? r.comment : "", by: r.by ?? null, at: r.at ?? null };
}

/** "3/5 labelled" and the bar's fraction. */
export function taskProgress(task: Pick<LabelingTask, "progress" | "size">): { fraction: number; text: string } {
  const total = task.progress.total || task.size || 0;
  const labeled = Math.min(task.progress.labeled, total);
  const parts = [`${labeled}/${total} labelled`];
  if (task.progress.accepted) parts.push(`${task.progress.accepted} accepted`);
  if (task.progress.rejected) parts.push(`${task.progress.rejected} rejected`);
  return { fraction: total ? labeled / total : 0, text: parts.join(" · ") };
}

export const TASK_STATUS_TITLE: Record<LabelingTask["status"], string> = {
  open: "Open", in_review: "In review", done: "Done", cancelled: "Cancelled",
};

/**
 * The event that made the sample's current labels: the newest one that is not a review, nor a
 * second labeler's blind overlap answer (which leaves the sample's labels alone). Null: none.
 */
export function lastLabelEvent(events: readonly AnnotationEvent[]): AnnotationEvent | null {
  let best: AnnotationEvent | null = null;
  for (const e of events) {
    if (!e.username || e.source === "review" || e.action === "accept" || e.action === "reject" || e.action === "overlap") continue;
    if (!best || e.created_at > best.created_at) best = e;
  }
  return best;
}

/** Who labelled the sample last (null: none). */
export function lastLabeler(events: readonly AnnotationEvent[]): string | null {
  return lastLabelEvent(events)?.username || null;
}

/** "a person" for a human's labels, "a model suggestion (name)" for an accepted suggestion. */
export function sourceTitle(source: string): string {
  if (!source || source === "human" || source === "console") return "person";
  if (source === "review") return "review";
  return `model suggestion (${source})`;
}

const ACTION_TITLE: Record<string, string> = {
  set: "labelled",
  batch: "labelled (batch)",
  overlap: "labelled blind (overlap)",
  accept: "accepted",
  reject: "rejected",
  label_delete: "label deleted",
  label_rename: "label renamed",
};
export const actionTitle = (action: string): string => ACTION_TITLE[action] ?? action.replace(/_/g, " ");

/** A history snapshot ({labels, objects?}) in words: "cat, dog", "2 boxes: cat ×2", "(none)". */
export function answerText(answer: unknown): string {
  const a = (answer && typeof answer === "object" ? answer : {}) as { labels?: unknown; objects?: unknown };
  const objects = Array.isArray(a.objects) ? (a.objects as { label?: unknown }[]) : [];
  if (objects.length) {
    const counts = new Map<string, number>();
    for (const o of objects) {
      const name = typeof o?.label === "string" ? o.label : "?";
      counts.set(name, (counts.get(name) ?? 0) + 1);
    }
    const parts = [...counts].map(([name, n]) => (n > 1 ? `${name} ×${n}` : name));
    return `${objects.length} box${objects.length > 1 ? "es" : ""}: ${parts.join(", ")}`;
  }
  const labels = Array.isArray(a.labels) ? a.labels.filter((x): x is string => typeof x === "string") : [];
  return labels.length ? labels.join(", ") : "(none)";
}

/** before → after of an event; null when it changed no labels (a review's accept or reject). */
export function eventChange(e: Pick<AnnotationEvent, "before" | "after">): string | null {
  const empty = (x: unknown) => !x || (typeof x === "object" && Object.keys(x as object).length === 0);
  if (empty(e.before) && empty(e.after)) return null;
  return `${answerText(e.before)} → ${answerText(e.after)}`;
}

/** A fraction as a whole percent ("—" for none: an undefined kappa, no samples). */
export function percentText(value: number | null | undefined): string {
  return typeof value === "number" && Number.isFinite(value) ? `${Math.round(value * 100)}%` : "—";
}

/** Kappa or F1 to two decimals ("—" when undefined). */
export function scoreText(value: number | null | undefined): string {
  return typeof value === "number" && Number.isFinite(value) ? value.toFixed(2) : "—";
}

/** The most of a dataset a second labeler may also be given (the server's limit). */
export const MAX_OVERLAP_PERCENT = 50;

/** The overlap field (a percent, empty: 0) as the fraction the API wants; null when invalid. */
export function overlapFraction(percent: string): number | null {
  const t = percent.trim();
  if (!t) return 0;
  const n = Number(t);
  if (!Number.isFinite(n) || n < 0 || n > MAX_OVERLAP_PERCENT) return null;
  return Math.round(n * 100) / 10000;
}

export interface Draft {
  decision: ReviewDecision | null;
  comment: string;
}

/**
 * The decisions to send for the samples still to review, or why not yet: a rejection needs
 * a comment for the labeler. Samples without a decision are left out (decided later).
 */
export function reviewDecisions(sampleIds: readonly string[], drafts: Record<string, Draft | undefined>): { items: ReviewItem[]; error: string | null } {
  const items: ReviewItem[] = [];
  for (const id of sampleIds) {
    const d = drafts[id];
    if (!d?.decision) continue;
    const comment = d.comment.trim();
    if (d.decision === "reject" && !comment) return { items: [], error: "A rejection needs a comment for the labeler." };
    items.push({ sample_id: id, decision: d.decision, comment });
  }
  if (!items.length) return { items, error: "Accept or reject at least one sample." };
  return { items, error: null };
}

/** The task-creation form's own checks (the server checks the rest). */
export function createTaskErrors(f: { assignees: string[]; split: "per_task" | "by_folder"; perTask: string; maxSamples: string; overlap?: string }): string | null {
  if (!f.assignees.length) return "Pick at least one assignee.";
  const overlap = overlapFraction(f.overlap ?? "");
  if (overlap === null) return `Overlap must be a percent from 0 to ${MAX_OVERLAP_PERCENT}.`;
  if (overlap > 0 && f.assignees.length < 2) return "Overlap needs at least two assignees (a second labeler labels the shared samples).";
  if (f.split === "per_task") {
    const n = Number(f.perTask);
    if (!Number.isInteger(n) || n < 1) return "Samples per task must be a whole number of at least 1.";
  }
  if (f.maxSamples.trim()) {
    const m = Number(f.maxSamples);
    if (!Number.isInteger(m) || m < 1) return "At most … samples must be a whole number of at least 1 (or empty).";
  }
  return null;
}

/** The invite form: a username, and a password of 8+ characters when the account is new. */
export function inviteErrors(f: { username: string; password: string }): string | null {
  if (!f.username.trim()) return "A username is required.";
  if (f.password && f.password.length < 8) return "The password needs at least 8 characters.";
  return null;
}

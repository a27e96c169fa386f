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

/** Who labelled the sample last: the newest event that is not a review (null: none). */
export function lastLabeler(events: readonly AnnotationEvent[]): string | null {
  let best: AnnotationEvent | null = null;
  for (const e of events) {
    if (!e.username || e.source === "review" || e.action === "accept" || e.action === "reject") continue;
    if (!best || e.created_at > best.created_at) best = e;
  }
  return best?.username || null;
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
export function createTaskErrors(f: { assignees: string[]; split: "per_task" | "by_folder"; perTask: string; maxSamples: string }): string | null {
  if (!f.assignees.length) return "Pick at least one assignee.";
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

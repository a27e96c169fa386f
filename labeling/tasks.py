"""Team labeling: split a dataset into tasks for labelers, submit, review, reassign, cancel.

The lock is on the sample row (``Sample.task_id`` and ``assignee``), which every annotation
write already locks (labeling.services), so "only the assignee may change it" costs no query
and cannot race. A task's life: open → in_review → done, or back to open when review rejects
a sample (its comment stays on the sample until it is reviewed again); cancelled at any time
by whoever may assign (annotations are kept, the lock goes).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Count, F, Q
from django.utils import timezone

from datasets.models import Dataset, Sample, SampleStatus
from exeml.errors import ApplicationError, NotFound, WrongState
from exeml.task_types import TaskType
from exeml.tenancy.models import Membership
from exeml.tenancy.roles import Capability, role_allows
from exeml.tenancy.scoping import tenant_scope
from labeling.audit import event_add, snapshots
from labeling.models import (
    ACTIVE_TASK_STATUSES,
    LabelingTask,
    Suggestion,
    SuggestionStatus,
    TaskItem,
    TaskKind,
    TaskStatus,
)

MAX_TASKS_PER_REQUEST = 200
MAX_TASK_SIZE = 10_000
MAX_OVERLAP = 0.5
ORDERS = ("source", "label_next")


class ReviewDecision:
    ACCEPT = "accept"
    REJECT = "reject"
    ALL = (ACCEPT, REJECT)


class ReviewStatus:
    """``Sample.review_status``: "" while not reviewed (or changed since)."""

    PENDING = ""
    ACCEPTED = "accepted"
    REJECTED = "rejected"


def _members_who_may(tenant, usernames: Sequence[str], capability: str, *, field: str) -> list:
    """The users named, each a member of ``tenant`` whose role has ``capability``."""
    if not usernames:
        raise ApplicationError("name at least one member", field=field)
    wanted = list(dict.fromkeys(usernames))
    memberships = {
        m.user.username: m
        for m in Membership.objects.select_related("user").filter(tenant=tenant, user__username__in=wanted)
    }
    unknown = [u for u in wanted if u not in memberships]
    if unknown:
        raise ApplicationError(f"not members of this tenant: {', '.join(unknown[:10])}", field=field)
    unable = [u for u in wanted if not role_allows(memberships[u].role, capability)]
    if unable:
        raise ApplicationError(
            f"these members' roles cannot {capability}: "
            + ", ".join(f"{u} ({memberships[u].role})" for u in unable[:10]),
            field=field,
        )
    return [memberships[u].user for u in wanted]


def _folder(source: str) -> str:
    return source.rsplit("/", 1)[0]


def _candidates(dataset: Dataset, order: str, limit: int | None) -> list[tuple[uuid.UUID, str]]:
    """Unlabelled, unassigned, present samples as (id, source), in the wanted order."""
    qs = Sample.objects.filter(dataset=dataset, status=SampleStatus.OK, labeled=False, task_id__isnull=True)
    ordered = qs.order_by("source", "line_number").values_list("pk", "source")
    if order == "source":
        return list(ordered[:limit] if limit else ordered)
    rows = list(ordered)
    if order == "label_next":
        # The model's label-next order (most uncertain first); samples it has not scored follow.
        rank = {
            pk: i
            for i, pk in enumerate(
                Suggestion.objects.filter(dataset=dataset, status=SuggestionStatus.PENDING)
                .order_by("-uncertainty", "id").values_list("sample_id", flat=True)
            )
        }
        rows.sort(key=lambda r: rank.get(r[0], len(rank)))
    return rows[:limit] if limit else rows


def tasks_create(
    *,
    dataset: Dataset,
    assignees: Sequence[str],
    per_task: int | None = None,
    by_folder: bool = False,
    order: str = "source",
    max_samples: int | None = None,
    name: str = "",
    overlap: float = 0.0,
    user=None,
) -> list[LabelingTask]:
    """Split the unlabelled, unassigned samples into tasks given round-robin to ``assignees``:
    chunks of ``per_task`` samples, or one task per folder (``by_folder``), in source order or
    the model's label-next order. All or nothing."""
    if dataset.task_type == TaskType.PREDICTIVE_ANALYTICS:
        raise ApplicationError("predictive analytics datasets have no per-sample labels to share out")
    if order not in ORDERS:
        raise ApplicationError(f"order must be one of {', '.join(ORDERS)}", field="order")
    if by_folder and per_task:
        raise ApplicationError("give either per_task or by_folder, not both", field="per_task")
    if not by_folder and not per_task:
        raise ApplicationError("give per_task (samples per task) or by_folder", field="per_task")
    if per_task is not None and not 1 <= per_task <= MAX_TASK_SIZE:
        raise ApplicationError(f"per_task must be between 1 and {MAX_TASK_SIZE}", field="per_task")
    if max_samples is not None and max_samples < 1:
        raise ApplicationError("max_samples must be at least 1", field="max_samples")
    if not 0 <= overlap <= MAX_OVERLAP:
        raise ApplicationError(f"overlap is a fraction from 0 to {MAX_OVERLAP}", field="overlap")
    users = _members_who_may(dataset.tenant, assignees, Capability.LABEL, field="assignees")
    if overlap and len(users) < 2:
        raise ApplicationError("overlap needs at least two assignees (a second labeler per sample)", field="overlap")
    # Count mode reads one row past what MAX_TASKS_PER_REQUEST tasks hold: enough to refuse a
    # split that would make too many, without reading a 100,000-sample dataset's every row.
    bound = per_task * MAX_TASKS_PER_REQUEST + 1 if per_task else None
    rows = _candidates(dataset, order, min(filter(None, (max_samples, bound)), default=None))
    if not rows:
        raise WrongState("there are no unlabelled samples left that are not already in a task", status_value="no_samples")
    if by_folder:
        # One task per folder, folders in the order their first sample comes.
        folders: dict[str, list[uuid.UUID]] = {}
        for pk, source in rows:
            folders.setdefault(_folder(source), []).append(pk)
        chunks = list(folders.values())
        suffixes = [f.rsplit("/", 1)[-1] or f for f in folders]
    else:
        ids = [pk for pk, _ in rows]
        chunks = [ids[i : i + per_task] for i in range(0, len(ids), per_task)]
        suffixes = [f"{i + 1}" for i in range(len(chunks))]
    if len(chunks) > MAX_TASKS_PER_REQUEST:
        raise ApplicationError(
            f"this would make {len(chunks)} tasks; at most {MAX_TASKS_PER_REQUEST} per request "
            "(raise per_task or set max_samples)",
            field="per_task" if not by_folder else "by_folder",
        )
    base = (name or dataset.name)[:80]
    created: list[LabelingTask] = []
    with transaction.atomic():
        for i, chunk in enumerate(chunks):
            assignee = users[i % len(users)]
            task = LabelingTask.objects.create(
                tenant_id=dataset.tenant_id, dataset=dataset, name=f"{base} · {suffixes[i]}"[:120],
                assignee=assignee, size=len(chunk), created_by=user,
            )
            taken = Sample.objects.filter(pk__in=chunk, task_id__isnull=True, labeled=False).update(
                task_id=task.pk, assignee=assignee, updated_at=timezone.now()
            )
            if taken != len(chunk):
                # Another request assigned or labelled some of them meanwhile: nothing is kept.
                raise WrongState("some of these samples were assigned or labelled meanwhile; try again",
                                 status_value="conflict")
            TaskItem.objects.bulk_create(
                [TaskItem(tenant_id=dataset.tenant_id, task=task, sample_id=pk, position=n) for n, pk in enumerate(chunk)]
            )
            created.append(task)
        if overlap:
            created.extend(_overlap_tasks(dataset, chunks, users, overlap, base, user))
    return created


def overlap_picks(chunks: list[list], n_users: int, fraction: float) -> dict[int, list]:
    """Which samples a second labeler gets, by that labeler's index: ``fraction`` of all,
    spread evenly over the split (every k-th sample), each to the next labeler after the one
    whose task holds it, so nobody labels a sample twice."""
    flat = [(pk, i % n_users) for i, chunk in enumerate(chunks) for pk in chunk]
    count = round(fraction * len(flat))
    if count == 0:
        return {}
    step = len(flat) / count
    picks: dict[int, list] = {}
    for j in range(count):
        pk, first = flat[int(j * step)]
        picks.setdefault((first + 1) % n_users, []).append(pk)
    return picks


def _overlap_tasks(dataset: Dataset, chunks, users, fraction: float, base: str, user) -> list[LabelingTask]:
    made = []
    for index, ids in sorted(overlap_picks(chunks, len(users), fraction).items()):
        second = users[index]
        task = LabelingTask.objects.create(
            tenant_id=dataset.tenant_id, dataset=dataset, name=f"{base} · overlap {second.username}"[:120],
            assignee=second, size=len(ids), created_by=user, kind=TaskKind.OVERLAP,
        )
        Sample.objects.filter(pk__in=ids).update(
            overlap_task_id=task.pk, overlap_assignee=second, overlap_answer=None, updated_at=timezone.now()
        )
        TaskItem.objects.bulk_create(
            [TaskItem(tenant_id=dataset.tenant_id, task=task, sample_id=pk, position=n) for n, pk in enumerate(ids)]
        )
        made.append(task)
    return made


def task_get(*, dataset: Dataset, task_id) -> LabelingTask:
    task = LabelingTask.objects.select_related("assignee").filter(dataset=dataset, pk=task_id).first()
    if task is None:
        raise NotFound("labeling task not found")
    return task


def _lock_task(dataset: Dataset, task_id) -> LabelingTask:
    task = LabelingTask.objects.select_for_update().filter(dataset=dataset, pk=task_id).first()
    if task is None:
        raise NotFound("labeling task not found")
    return task


def _release(task: LabelingTask) -> None:
    if task.kind == TaskKind.OVERLAP:
        Sample.objects.filter(overlap_task_id=task.pk).update(
            overlap_task_id=None, overlap_assignee=None, overlap_answer=None, updated_at=timezone.now()
        )
    else:
        Sample.objects.filter(task_id=task.pk).update(task_id=None, assignee=None, updated_at=timezone.now())


def _keep_answers(task: LabelingTask) -> None:
    """What the labeler gave, on each item, at the task's first submission (before review
    feedback changes it): the agreement figures compare these."""
    items = list(TaskItem.objects.filter(task=task, answer__isnull=True).values_list("pk", "sample_id"))
    if not items:
        return
    if task.kind == TaskKind.OVERLAP:
        given = dict(Sample.objects.filter(pk__in=[s for _, s in items]).values_list("pk", "overlap_answer"))
    else:
        given = snapshots([s for _, s in items])
    TaskItem.objects.bulk_update(
        [TaskItem(pk=pk, answer=given.get(sample_id) or {"labels": []}) for pk, sample_id in items],
        ["answer"], batch_size=500,
    )


def task_submit(*, dataset: Dataset, task_id, user) -> LabelingTask:
    """The assignee hands the task to review: every sample must carry labels."""
    with transaction.atomic():
        task = _lock_task(dataset, task_id)
        if task.assignee_id != user.pk:
            raise WrongState("only the task's assignee submits it", status_value="not_assignee")
        if task.status != TaskStatus.OPEN:
            raise WrongState(f"the task is {task.status}, not open", status_value=task.status)
        if task.kind == TaskKind.OVERLAP:
            unanswered = Sample.objects.filter(overlap_task_id=task.pk, overlap_answer__isnull=True).count()
            if unanswered:
                raise WrongState(f"{unanswered} sample(s) of this task are not labelled yet", status_value="incomplete")
            # A second opinion is not reviewed: kept for the agreement, the samples let go.
            _keep_answers(task)
            _release(task)
            task.status = TaskStatus.DONE
            task.submitted_at = task.finished_at = timezone.now()
            task.save(update_fields=["status", "submitted_at", "finished_at"])
            return task
        samples = Sample.objects.filter(task_id=task.pk)
        unlabeled = samples.filter(labeled=False).count()
        if unlabeled:
            raise WrongState(f"{unlabeled} sample(s) of this task are not labelled yet", status_value="incomplete")
        _keep_answers(task)
        # Samples review sent back and the labeler kept as they were are reviewed again.
        samples.filter(review_status=ReviewStatus.REJECTED).update(review_status=ReviewStatus.PENDING)
        task.status = TaskStatus.IN_REVIEW
        task.submitted_at = timezone.now()
        task.save(update_fields=["status", "submitted_at"])
    return task


def task_review(*, dataset: Dataset, task_id, decisions: Sequence[dict], user) -> LabelingTask:
    """Accept or reject samples of a task in review (``[{"sample_id","decision","comment"}]``).
    When every sample is decided the task is done, or back with its labeler if any was
    rejected."""
    if not decisions:
        raise ApplicationError("no decisions given", field="decisions")
    with transaction.atomic():
        task = _lock_task(dataset, task_id)
        if task.status != TaskStatus.IN_REVIEW:
            raise WrongState(f"the task is {task.status}, not in review", status_value=task.status)
        if task.assignee_id == user.pk:
            raise WrongState("a labeler does not review their own task", status_value="own_task")
        wanted: dict[uuid.UUID, dict] = {}
        for i, d in enumerate(decisions):
            if d["decision"] not in ReviewDecision.ALL:
                raise ApplicationError(f"decision {i + 1}: must be accept or reject", field="decisions")
            if d["decision"] == ReviewDecision.REJECT and not (d.get("comment") or "").strip():
                raise ApplicationError(f"decision {i + 1}: a rejection needs a comment for the labeler",
                                       field="decisions")
            wanted[d["sample_id"]] = d
        samples = {
            s.pk: s for s in Sample.objects.select_for_update().filter(task_id=task.pk, pk__in=list(wanted)).order_by("pk")
        }
        missing = [str(i) for i in wanted if i not in samples]
        if missing:
            raise ApplicationError(f"not samples of this task: {', '.join(missing[:5])}", field="decisions")
        now = timezone.now()
        for pk, d in wanted.items():
            status = ReviewStatus.ACCEPTED if d["decision"] == ReviewDecision.ACCEPT else ReviewStatus.REJECTED
            comment = (d.get("comment") or "").strip()
            Sample.objects.filter(pk=pk).update(
                review_status=status, review_comment=comment, reviewed_by=user, reviewed_at=now, updated_at=now,
            )
            event_add(dataset=dataset, sample_id=pk, user=user, source="review", action=d["decision"], comment=comment)
        left = Sample.objects.filter(task_id=task.pk)
        tally = left.aggregate(
            pending=Count("pk", filter=Q(review_status=ReviewStatus.PENDING)),
            rejected=Count("pk", filter=Q(review_status=ReviewStatus.REJECTED)),
        )
        if tally["pending"] == 0:
            if tally["rejected"]:
                task.status = TaskStatus.OPEN
                task.returned = F("returned") + 1
            else:
                task.status = TaskStatus.DONE
                task.finished_at = now
                _release(task)
            task.save(update_fields=["status", "returned", "finished_at"])
            task.refresh_from_db()
    return task


def task_update(*, dataset: Dataset, task_id, assignee: str | None = None, name: str | None = None) -> LabelingTask:
    with transaction.atomic():
        task = _lock_task(dataset, task_id)
        if name is not None:
            if not name.strip():
                raise ApplicationError("a task needs a name", field="name")
            task.name = name.strip()[:120]
        if assignee is not None:
            if task.status not in ACTIVE_TASK_STATUSES:
                raise WrongState(f"the task is {task.status}; only open tasks are reassigned", status_value=task.status)
            (new,) = _members_who_may(dataset.tenant, [assignee], Capability.LABEL, field="assignee")
            task.assignee = new
            if task.kind == TaskKind.OVERLAP:
                Sample.objects.filter(overlap_task_id=task.pk).update(overlap_assignee=new, updated_at=timezone.now())
            else:
                Sample.objects.filter(task_id=task.pk).update(assignee=new, updated_at=timezone.now())
        task.save()
    return task_get(dataset=dataset, task_id=task.pk)


def task_cancel(*, dataset: Dataset, task_id) -> LabelingTask:
    """End a task early: its samples are free again; what was labelled stays."""
    with transaction.atomic():
        task = _lock_task(dataset, task_id)
        if task.status not in ACTIVE_TASK_STATUSES:
            raise WrongState(f"the task is already {task.status}", status_value=task.status)
        task.status = TaskStatus.CANCELLED
        task.finished_at = timezone.now()
        task.save(update_fields=["status", "finished_at"])
        _release(task)
    return task


def tasks_unassign_member(*, tenant, user) -> int:
    """A removed member's open tasks lose their assignee (to be reassigned); their work stays."""
    with tenant_scope(tenant), transaction.atomic():
        ids = list(
            LabelingTask.objects.filter(assignee=user, status__in=ACTIVE_TASK_STATUSES).values_list("pk", flat=True)
        )
        LabelingTask.objects.filter(pk__in=ids).update(assignee=None)
        Sample.objects.filter(task_id__in=ids).update(assignee=None)
        Sample.objects.filter(overlap_task_id__in=ids).update(overlap_assignee=None)
    return len(ids)


def lock_holder_name(user_id) -> str:
    user = get_user_model().objects.filter(pk=user_id).only("username").first()
    return user.username if user else "another member"

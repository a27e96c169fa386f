"""The append-only history of annotation changes, and each member's activity read from it."""

from __future__ import annotations

import statistics
from collections import defaultdict
from datetime import timedelta
from typing import Any

from django.db.models import Count, Q
from django.db.models.functions import TruncDate
from django.utils import timezone

from datasets.models import Annotation, Dataset, DatasetVersion, DatasetVersionItem, Sample, SampleStatus
from labeling.models import AnnotationEvent, TaskItem

# Gaps between one member's consecutive changes longer than this are breaks, not labelling time.
ACTIVE_GAP = timedelta(minutes=10)


def snapshot(annotations) -> dict[str, Any]:
    """What a sample carries, as the history shows it: labels, and boxes when there are any."""
    labels: list[str] = []
    boxes: list[dict] = []
    for a in annotations:
        if a.label.name not in labels:
            labels.append(a.label.name)
        if a.xmin is not None:
            boxes.append({"label": a.label.name, "bbox": a.bbox})
    out: dict[str, Any] = {"labels": labels}
    if boxes:
        out["objects"] = boxes
    return out


def snapshots(sample_ids) -> dict[Any, dict[str, Any]]:
    by_sample: dict[Any, list] = defaultdict(list)
    for a in Annotation.objects.filter(sample_id__in=list(sample_ids)).select_related("label").order_by("created_at", "id"):
        by_sample[a.sample_id].append(a)
    return {sid: snapshot(by_sample.get(sid, [])) for sid in sample_ids}


def event_add(
    *, dataset: Dataset, sample_id, user, source: str = "human", action: str, before: dict | None = None,
    after: dict | None = None, comment: str = "",
) -> None:
    AnnotationEvent.objects.create(
        tenant_id=dataset.tenant_id, dataset=dataset, sample_id=sample_id,
        user=user if user is not None and user.is_authenticated else None,
        username=getattr(user, "username", "") or "", source=source or "human", action=action,
        before=before or {}, after=after or {}, comment=comment,
    )


def events_add_many(*, dataset: Dataset, user, action: str, changes: dict[Any, tuple[dict, dict]]) -> None:
    """One event per sample whose annotations changed (``{sample_id: (before, after)}``)."""
    username = getattr(user, "username", "") or ""
    AnnotationEvent.objects.bulk_create([
        AnnotationEvent(
            tenant_id=dataset.tenant_id, dataset=dataset, sample_id=sid,
            user=user if user is not None and user.is_authenticated else None, username=username,
            source="human", action=action, before=before, after=after,
        )
        for sid, (before, after) in changes.items()
        if before != after
    ])


def sample_history(*, dataset: Dataset, sample_id):
    return AnnotationEvent.objects.filter(dataset=dataset, sample_id=sample_id).order_by("created_at", "id")


def member_activity(*, dataset: Dataset, days: int = 14) -> list[dict[str, Any]]:
    """Per member over the last ``days``: samples labelled per day, review acceptance of the
    samples they labelled, and the median time per sample (gaps between their consecutive
    changes, breaks longer than ACTIVE_GAP left out)."""
    since = timezone.now() - timedelta(days=days)
    events = AnnotationEvent.objects.filter(dataset=dataset, created_at__gte=since)
    labelled = events.exclude(source="review").exclude(username="")
    per_day: dict[str, dict[str, int]] = defaultdict(dict)
    for row in (
        labelled.annotate(day=TruncDate("created_at")).values("username", "day")
        .annotate(samples=Count("sample_id", distinct=True)).order_by("username", "day")
    ):
        per_day[row["username"]][row["day"].isoformat()] = row["samples"]
    times: dict[str, list[float]] = defaultdict(list)
    last: dict[str, Any] = {}
    for username, at in labelled.order_by("username", "created_at").values_list("username", "created_at").iterator():
        prev = last.get(username)
        if prev is not None and at - prev <= ACTIVE_GAP:
            times[username].append((at - prev).total_seconds())
        last[username] = at
    # Review outcome of each labelled sample, credited to whoever made its latest change before the review.
    # (A blind overlap answer is not what was reviewed.) Two queries, however many reviews.
    reviews = list(events.filter(source="review").values_list("sample_id", "action", "created_at"))
    changes: dict[Any, list[tuple[Any, str]]] = defaultdict(list)
    for sample_id, at, username in (
        AnnotationEvent.objects.filter(dataset=dataset, sample_id__in={r[0] for r in reviews})
        .exclude(source="review").exclude(action="overlap").exclude(username="")
        .order_by("created_at", "id").values_list("sample_id", "created_at", "username").iterator()
    ):
        changes[sample_id].append((at, username))
    outcome: dict[str, dict[str, int]] = defaultdict(lambda: {"accepted": 0, "rejected": 0})
    for sample_id, action, at in reviews:
        before = [who for when, who in changes.get(sample_id, []) if when <= at]
        if before:
            outcome[before[-1]]["accepted" if action == "accept" else "rejected"] += 1
    names = sorted(set(per_day) | set(outcome))
    rows = []
    for name in names:
        decided = outcome[name]["accepted"] + outcome[name]["rejected"]
        rows.append({
            "username": name,
            "samples_labeled": sum(per_day[name].values()),
            "per_day": [{"day": d, "samples": n} for d, n in sorted(per_day[name].items())],
            "reviewed": decided,
            "accepted": outcome[name]["accepted"],
            "rejected": outcome[name]["rejected"],
            "acceptance_rate": round(outcome[name]["accepted"] / decided, 4) if decided else None,
            "median_seconds_per_sample": round(statistics.median(times[name]), 1) if times[name] else None,
        })
    return rows


def task_progress(task_ids) -> dict[Any, dict[str, int]]:
    """Per task: samples, labelled, accepted, rejected (one aggregate over its items)."""
    rows = (
        TaskItem.objects.filter(task_id__in=list(task_ids)).values("task_id").annotate(
            total=Count("pk"),
            labeled=Count("pk", filter=Q(sample__labeled=True)),
            accepted=Count("pk", filter=Q(sample__review_status="accepted")),
            rejected=Count("pk", filter=Q(sample__review_status="rejected")),
        )
    )
    out = {r["task_id"]: {k: r[k] for k in ("total", "labeled", "accepted", "rejected")} for r in rows}
    return {tid: out.get(tid, {"total": 0, "labeled": 0, "accepted": 0, "rejected": 0}) for tid in task_ids}


def review_missing(*, dataset: Dataset, version: DatasetVersion | None = None) -> int:
    """Labelled samples whose annotations nobody accepted in review: of the frozen version
    (as it recorded them), else of the live dataset."""
    if version is not None:
        return DatasetVersionItem.objects.filter(version=version, reviewed_by="").count()
    return (
        Sample.objects.filter(dataset=dataset, labeled=True, status=SampleStatus.OK)
        .exclude(review_status="accepted").count()
    )

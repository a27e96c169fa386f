"""Model-assisted labeling on the labeling side: pre-label suggestions (accept, reject),
"label these next" (uncertainty order) and suspected label errors (fix, mark checked).

The jobs that compute them live above (serving runs a version over unlabelled samples,
training cross-validates the labelled ones); they hand their results to the writers here,
which write in bounded batches so a large dataset never holds one long transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from datasets.models import Dataset, Sample, SampleStatus
from exeml.errors import ApplicationError, NotFound
from exeml.task_types import TaskType
from labeling.models import LabelIssue, LabelIssueStatus, Suggestion, SuggestionStatus
from labeling.services import sample_annotations_set

AUTO = "auto"  # annotated-by of an accepted suggestion (the ModelArts manifest field)
WRITE_BATCH = 500
MAX_ACCEPT = 10000


@dataclass(frozen=True)
class Predicted:
    sample_id: uuid.UUID
    payload: dict[str, Any]
    confidence: float
    uncertainty: float


def suggestions_write(*, dataset: Dataset, source_id: uuid.UUID, source_name: str, items: Sequence[Predicted]) -> int:
    """Store one batch of predictions as pending suggestions (replacing older pending ones of
    the same samples); samples labelled meanwhile are skipped. One short transaction."""
    ids = [p.sample_id for p in items]
    with transaction.atomic():
        unlabelled = set(
            Sample.objects.filter(dataset=dataset, pk__in=ids, labeled=False).values_list("pk", flat=True)
        )
        Suggestion.objects.filter(dataset=dataset, sample_id__in=unlabelled).delete()
        rows = [
            Suggestion(
                tenant_id=dataset.tenant_id, dataset=dataset, sample_id=p.sample_id, source_id=source_id,
                source_name=source_name[:120], payload=p.payload, confidence=float(p.confidence),
                uncertainty=float(p.uncertainty),
            )
            for p in items
            if p.sample_id in unlabelled
        ]
        Suggestion.objects.bulk_create(rows)
    return len(rows)


def suggestion_list(*, dataset: Dataset, status: str | None = SuggestionStatus.PENDING,
                    min_confidence: float | None = None, ordering: str = "uncertainty") -> QuerySet[Suggestion]:
    qs = Suggestion.objects.filter(dataset=dataset).select_related("sample")
    if status:
        if status not in SuggestionStatus.values:
            raise ApplicationError(f"status must be one of {', '.join(SuggestionStatus.values)}", field="status")
        qs = qs.filter(status=status)
    if min_confidence is not None:
        qs = qs.filter(confidence__gte=min_confidence)
    # One direction per ordering, so that a page is a keyset range of the (…, id) indexes.
    orders = {
        "uncertainty": ["-uncertainty", "-id"], "confidence": ["-confidence", "-id"], "-confidence": ["confidence", "id"],
    }
    if ordering not in orders:
        raise ApplicationError(f"ordering must be one of {', '.join(orders)}", field="ordering")
    return qs.order_by(*orders[ordering])


def _pending(dataset: Dataset, *, ids: Sequence[uuid.UUID] | None, min_confidence: float | None) -> QuerySet[Suggestion]:
    qs = Suggestion.objects.filter(dataset=dataset, status=SuggestionStatus.PENDING)
    if ids is not None:
        qs = qs.filter(pk__in=ids)
    if min_confidence is not None:
        qs = qs.filter(confidence__gte=min_confidence)
    return qs


def _selection(ids: Sequence[Any] | None, min_confidence: Any) -> tuple[list[uuid.UUID] | None, float | None]:
    if ids is None and min_confidence is None:
        raise ApplicationError("give the suggestion ids or a min_confidence", field="ids")
    parsed = None
    if ids is not None:
        try:
            parsed = list(dict.fromkeys(uuid.UUID(str(i)) for i in ids))
        except ValueError:
            raise ApplicationError("ids must be suggestion ids (UUIDs)", field="ids")
        if not parsed:
            raise ApplicationError("no suggestion ids given", field="ids")
    threshold = None
    if min_confidence is not None:
        try:
            threshold = float(min_confidence)
        except (TypeError, ValueError):
            raise ApplicationError("min_confidence must be a number between 0 and 1", field="min_confidence")
        if not 0.0 <= threshold <= 1.0:
            raise ApplicationError("min_confidence must be between 0 and 1", field="min_confidence")
    return parsed, threshold


def suggestions_accept(*, dataset: Dataset, ids: Sequence[Any] | None = None, min_confidence: Any = None,
                       user=None) -> dict[str, int]:
    """Turn pending suggestions into annotations (annotated by ``auto``, with their confidence).

    Each sample is written in its own short transaction through the one annotation writer, so
    a sample a person labelled meanwhile is skipped (never overwritten) and nothing is half done."""
    if dataset.task_type == TaskType.PREDICTIVE_ANALYTICS:
        raise ApplicationError("predictive analytics data has no suggestions", field="dataset")
    parsed, threshold = _selection(ids, min_confidence)
    chosen = list(_pending(dataset, ids=parsed, min_confidence=threshold).order_by("-confidence")[: MAX_ACCEPT + 1])
    if len(chosen) > MAX_ACCEPT:
        raise ApplicationError(f"at most {MAX_ACCEPT} suggestions per request; raise min_confidence", field="ids")
    accepted = skipped = 0
    for s in chosen:
        with transaction.atomic():
            sample = Sample.objects.select_for_update().filter(pk=s.sample_id, dataset=dataset).first()
            if sample is None or sample.labeled:
                Suggestion.objects.filter(pk=s.pk).update(status=SuggestionStatus.REJECTED, decided_at=timezone.now())
                skipped += 1
                continue
            if "objects" in s.payload:
                objects = [{"label": o["label"], "bbox": o["bbox"]} for o in s.payload["objects"]]
                sample_annotations_set(dataset=dataset, sample_id=sample.pk, objects=objects, user=user,
                                       annotated_by=AUTO, confidence=s.confidence)
            else:
                sample_annotations_set(dataset=dataset, sample_id=sample.pk, labels=list(s.payload.get("labels", [])),
                                       user=user, annotated_by=AUTO, confidence=s.confidence)
            Suggestion.objects.filter(pk=s.pk).update(status=SuggestionStatus.ACCEPTED, decided_at=timezone.now())
            accepted += 1
    return {"accepted": accepted, "skipped": skipped}


def suggestions_reject(*, dataset: Dataset, ids: Sequence[Any] | None = None, min_confidence: Any = None) -> dict[str, int]:
    parsed, threshold = _selection(ids, min_confidence)
    n = _pending(dataset, ids=parsed, min_confidence=threshold).update(
        status=SuggestionStatus.REJECTED, decided_at=timezone.now()
    )
    return {"rejected": n}


def label_next_phases(*, dataset: Dataset) -> list[tuple[QuerySet, bool]]:
    """Unlabelled usable samples, the ones the model is least sure of first, as two querysets
    read one after the other (exeml.api.cursor.ChainedCursorPagination), each in index order:
    the pending suggestions by uncertainty (their (dataset, status, uncertainty, id) index),
    then the samples without one in list order. Ordering by a per-sample subquery instead
    sorted every unlabelled sample on every page."""
    pending = (
        Suggestion.objects.filter(
            dataset=dataset, status=SuggestionStatus.PENDING, sample__labeled=False, sample__status=SampleStatus.OK
        )
        .select_related("sample")
        .order_by("-uncertainty", "-id")
    )
    rest = (
        Sample.objects.filter(dataset=dataset, labeled=False, status=SampleStatus.OK)
        .exclude(Exists(Suggestion.objects.filter(sample=OuterRef("pk"), status=SuggestionStatus.PENDING)))
        .order_by("source", "line_number")
    )
    return [(pending, False), (rest, True)]


def label_next_rows(rows: Iterable[Suggestion | Sample]) -> list[Sample]:
    """A label-next page as samples carrying ``uncertainty`` (None without a suggestion)."""
    out = []
    for row in rows:
        if isinstance(row, Suggestion):
            sample = row.sample
            sample.uncertainty = row.uncertainty
        else:
            sample, sample.uncertainty = row, None
        out.append(sample)
    return out


# ------------------------------------------------------------------ suspected label errors


@dataclass(frozen=True)
class SuspectedError:
    sample_id: uuid.UUID
    given_label: str
    suggested_label: str
    given_probability: float
    suggested_probability: float


def label_issues_replace(*, dataset: Dataset, job_id: uuid.UUID, issues: Iterable[SuspectedError]) -> int:
    """Replace the dataset's open issues with a new ranked list (checked/fixed ones stay,
    so a sample a user already looked at is not listed again)."""
    issues = list(issues)
    already_seen = set(
        LabelIssue.objects.filter(dataset=dataset).exclude(status=LabelIssueStatus.OPEN).values_list("sample_id", flat=True)
    )
    LabelIssue.objects.filter(dataset=dataset, status=LabelIssueStatus.OPEN).delete()
    rows = [
        LabelIssue(
            tenant_id=dataset.tenant_id, dataset=dataset, sample_id=i.sample_id, job_id=job_id,
            given_label=i.given_label[:32], suggested_label=i.suggested_label[:32],
            given_probability=i.given_probability, suggested_probability=i.suggested_probability, rank=rank,
        )
        for rank, i in enumerate((i for i in issues if i.sample_id not in already_seen), start=1)
    ]
    for start in range(0, len(rows), WRITE_BATCH):
        LabelIssue.objects.bulk_create(rows[start : start + WRITE_BATCH])
    return len(rows)


def label_issue_list(*, dataset: Dataset, status: str | None = LabelIssueStatus.OPEN) -> QuerySet[LabelIssue]:
    qs = LabelIssue.objects.filter(dataset=dataset).select_related("sample")
    if status:
        if status not in LabelIssueStatus.values:
            raise ApplicationError(f"status must be one of {', '.join(LabelIssueStatus.values)}", field="status")
        qs = qs.filter(status=status)
    return qs.order_by("rank", "id")


def label_issue_resolve(*, dataset: Dataset, issue_id: Any, action: str, label: str | None = None, user=None) -> LabelIssue:
    """``fix``: relabel the sample (to ``label``, default the suggested one); ``checked``: keep it."""
    try:
        issue = LabelIssue.objects.get(dataset=dataset, pk=uuid.UUID(str(issue_id)))
    except (ValueError, LabelIssue.DoesNotExist):
        raise NotFound("label issue not found")
    if action not in ("fix", "checked"):
        raise ApplicationError("action must be fix or checked", field="action")
    if issue.status != LabelIssueStatus.OPEN:
        raise ApplicationError(f"the issue is already {issue.status}", field="action")
    if action == "fix":
        sample_annotations_set(dataset=dataset, sample_id=issue.sample_id, labels=[label or issue.suggested_label], user=user)
        issue.status = LabelIssueStatus.FIXED
    else:
        issue.status = LabelIssueStatus.CHECKED
    issue.save(update_fields=["status"])
    return issue

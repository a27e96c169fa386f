"""Writes on annotations.

Every write that changes what a sample carries runs in one transaction, locks the
samples it touches (``select_for_update``, in primary-key order so two writers cannot
deadlock) and bumps ``Sample.revision`` with ``F() + 1``, so an ``If-Match`` check and the
write it guards are atomic: two clients holding the same revision get one 200 and one 409.
A sample an open labeling task holds changes only by its assignee (labeling.tasks); every
change is kept in the sample's history (labeling.audit) and voids its review.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from datasets.labels import labels_ensure
from datasets.models import Annotation, Dataset, Label, Sample
from exeml.errors import ApplicationError, NotFound
from exeml.task_types import TaskType
from labeling import audit
from labeling.validation import check_name, refuse_tabular
from projects.selectors import dataset_single_label

MAX_BATCH_SAMPLES = 1000
# Each new label name is a row of its own: one request may not mint thousands.
MAX_LABELS_PER_REQUEST = 100
MAX_BOXES_PER_SAMPLE = 1000
HUMAN = "human"





@dataclass(frozen=True)
class WantedAnnotation:
    label: str
    box: tuple[float, float, float, float] | None = None


def _wanted_annotations(
    dataset: Dataset, sample: Sample, labels: list[str] | None, objects: list[dict] | None
) -> list[WantedAnnotation]:
    task = dataset.task_type
    if task == TaskType.OBJECT_DETECTION:
        if labels:
            raise ApplicationError("object detection samples are labelled with boxes", field="objects")
        if len(objects or []) > MAX_BOXES_PER_SAMPLE:
            raise ApplicationError(f"at most {MAX_BOXES_PER_SAMPLE} boxes per sample", field="objects")
        boxes = [_box(o, i, sample) for i, o in enumerate(objects or [], start=1)]
        _check_label_count({b.label for b in boxes}, field="objects")
        return boxes
    if objects:
        raise ApplicationError("boxes are only for object detection", field="objects")
    names = list(dict.fromkeys(labels or []))
    _check_label_count(names, field="labels")
    for n in names:
        check_name(n, field="labels")
    if len(names) > 1 and dataset_single_label(dataset=dataset):
        raise ApplicationError(f"{_one_label_why(task)}, not {len(names)}", field="labels")
    return [WantedAnnotation(n) for n in names]


def _one_label_why(task: str) -> str:
    if task == TaskType.IMAGE_CLASSIFICATION:
        return "this project is single-label: an image carries exactly one label (make the project multi-label for more)"
    return f"a {TaskType(task).label} sample carries exactly one label"


def _check_label_count(names, *, field: str) -> None:
    if len(names) > MAX_LABELS_PER_REQUEST:
        raise ApplicationError(f"at most {MAX_LABELS_PER_REQUEST} different labels per request", field=field)


def _box(obj: Any, index: int, sample: Sample) -> WantedAnnotation:
    if not isinstance(obj, dict):
        raise ApplicationError(f"object {index} is not an object", field="objects")
    name = check_name(obj.get("label"), field="objects")
    bbox = obj.get("bbox")
    if (
        not isinstance(bbox, list | tuple)
        or len(bbox) != 4
        or not all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in bbox)
    ):
        raise ApplicationError(f"object {index} ({name}): bbox must be [xmin, ymin, xmax, ymax]", field="objects")
    xmin, ymin, xmax, ymax = (float(v) for v in bbox)
    width = sample.width if sample.width else math.inf
    height = sample.height if sample.height else math.inf
    if not (0 <= xmin < xmax <= width and 0 <= ymin < ymax <= height):
        size = f"{sample.width}x{sample.height}" if sample.width and sample.height else "the"
        raise ApplicationError(
            f"object {index} ({name}): box {[xmin, ymin, xmax, ymax]} is not inside {size} image "
            "(need 0 <= xmin < xmax <= width and 0 <= ymin < ymax <= height)",
            field="objects",
        )
    return WantedAnnotation(name, (xmin, ymin, xmax, ymax))


def _annotation_key(label_name: str, box: tuple[float, float, float, float] | None) -> tuple:
    return (label_name, box)


class StaleRevision(ApplicationError):
    """If-Match named an old revision: a 409. The view adds the sample as it is now (services
    raise, views render)."""

    def __init__(self, sample: Sample) -> None:
        super().__init__(
            f"the sample changed meanwhile (revision {sample.revision}); reload it and apply your change again",
            code="conflict", status=409, extra={"status": "conflict"},
        )
        self.sample = sample


def answers_blind(sample: Sample, user) -> bool:
    """Whether ``user`` labels ``sample`` as its overlap (second, blind) labeler: their
    answer is kept apart and the sample's annotations stay the first labeler's."""
    user_id = getattr(user, "pk", user)
    return user_id is not None and sample.overlap_assignee_id == user_id and sample.assignee_id != user_id


def _answer_of(wanted: list[WantedAnnotation]) -> dict[str, Any]:
    answer: dict[str, Any] = {"labels": list(dict.fromkeys(w.label for w in wanted))}
    boxes = [{"label": w.label, "bbox": list(w.box)} for w in wanted if w.box is not None]
    if boxes:
        answer["objects"] = boxes
    return answer


def _overlap_answer_set(dataset: Dataset, sample: Sample, answer: dict[str, Any], user) -> Sample:
    before = sample.overlap_answer or {"labels": []}
    Sample.objects.filter(pk=sample.pk).update(
        overlap_answer=answer, revision=F("revision") + 1, updated_at=timezone.now()
    )
    if before != answer:
        audit.event_add(dataset=dataset, sample_id=sample.pk, user=user, action="overlap", before=before, after=answer)
    sample.refresh_from_db()
    return sample


def _locked_by_other(sample: Sample, user) -> ApplicationError | None:
    """A 409 when ``sample`` belongs to an open task of someone else, or its task is in review.
    Internal callers (no user) are not held back."""
    if user is None or sample.task_id is None:
        return None
    from labeling.models import LabelingTask, TaskStatus
    from labeling.tasks import lock_holder_name

    task = LabelingTask.objects.filter(pk=sample.task_id).only("status", "name", "assignee_id").first()
    if task is None:
        return None
    if task.status == TaskStatus.IN_REVIEW:
        return ApplicationError(
            f"sample {sample.name} is in review (task {task.name!r}); it changes again if review sends it back",
            code="locked", status=409, extra={"status": "in_review", "task": str(task.pk)},
        )
    if sample.assignee_id is not None and sample.assignee_id != user.pk:
        holder = lock_holder_name(sample.assignee_id)
        return ApplicationError(
            f"sample {sample.name} is assigned to {holder} (task {task.name!r}); only they can change it",
            code="locked", status=409, extra={"status": "locked", "held_by": holder, "task": str(task.pk)},
        )
    return None


def sample_annotations_set(
    *,
    dataset: Dataset,
    sample_id: uuid.UUID | str,
    labels: list[str] | None = None,
    objects: list[dict] | None = None,
    expected_revision: int | None = None,
    user=None,
    annotated_by: str = HUMAN,
    confidence: float | None = None,
) -> Sample:
    """Replace a sample's annotations (labels, or boxes for detection); empty → Unlabeled.

    Annotations that stay the same keep who made them and when; new ones record ``user``,
    ``annotated_by`` and ``confidence``. ``expected_revision`` (If-Match) that is stale
    raises a 409 carrying the current sample.
    """
    refuse_tabular(dataset)
    with transaction.atomic():
        sample = Sample.objects.select_for_update().filter(dataset=dataset, pk=sample_id).first()
        if sample is None:
            raise NotFound("sample not found")
        if expected_revision is not None and sample.revision != expected_revision:
            raise StaleRevision(sample)
        if answers_blind(sample, user):
            wanted = _wanted_annotations(dataset, sample, labels, objects)
            labels_ensure(dataset=dataset, names=[w.label for w in wanted])
            return _overlap_answer_set(dataset, sample, _answer_of(wanted), user)
        locked = _locked_by_other(sample, user)
        if locked is not None:
            raise locked
        wanted = _wanted_annotations(dataset, sample, labels, objects)
        label_map = labels_ensure(dataset=dataset, names=[w.label for w in wanted])
        existing = list(Annotation.objects.filter(sample=sample).select_related("label"))
        keep: dict[tuple, Annotation] = {}
        drop: list[uuid.UUID] = []
        for a in existing:
            key = _annotation_key(a.label.name, tuple(a.bbox) if a.bbox else None)
            if key in keep:
                drop.append(a.pk)
            else:
                keep[key] = a
        new: list[Annotation] = []
        wanted_keys = set()
        for w in wanted:
            key = _annotation_key(w.label, w.box)
            if key in wanted_keys:
                continue
            wanted_keys.add(key)
            if key in keep:
                continue
            new.append(_new_annotation(dataset, sample.pk, label_map[w.label], w.box, user, annotated_by, confidence))
        drop.extend(a.pk for k, a in keep.items() if k not in wanted_keys)
        changed = bool(drop or new)
        before = audit.snapshot(existing) if changed else None
        if drop:
            Annotation.objects.filter(pk__in=drop).delete()
        if new:
            Annotation.objects.bulk_create(new)
        # A change voids the review of what the sample carried (its comment stays to read).
        review = {"review_status": "", "reviewed_by": None, "reviewed_at": None} if changed else {}
        Sample.objects.filter(pk=sample.pk).update(
            revision=F("revision") + 1, labeled=bool(wanted_keys), label_reason="", updated_at=timezone.now(),
            **review,
        )
        if changed:
            after = audit.snapshots([sample.pk])[sample.pk]
            audit.event_add(
                dataset=dataset, sample_id=sample.pk, user=user, source=annotated_by, action="set",
                before=before, after=after,
            )
        sample.refresh_from_db()
    return sample


def _new_annotation(
    dataset: Dataset, sample_id, label: Label, box, user, annotated_by: str, confidence: float | None
) -> Annotation:
    # bulk_create skips save(), so the tenant is set here.
    a = Annotation(
        tenant_id=dataset.tenant_id, sample_id=sample_id, label=label, created_by=user,
        annotated_by=annotated_by or HUMAN, confidence=confidence,
    )
    if box is not None:
        a.xmin, a.ymin, a.xmax, a.ymax = box
    return a


def annotations_batch(
    *,
    dataset: Dataset,
    sample_ids: Sequence[uuid.UUID | str],
    add: Sequence[str] = (),
    remove: Sequence[str] = (),
    user=None,
) -> list[uuid.UUID]:
    """Add/remove labels on many samples at once; all or nothing. Returns the sample ids.

    Multi-label image: ``add`` and ``remove`` any labels. Single-label (sound, text, a
    single-label image project): ``add`` holds one label and replaces what the samples had.
    Detection: only ``remove`` (boxes are drawn one by one).
    """
    refuse_tabular(dataset)
    ids = list(dict.fromkeys(uuid.UUID(str(i)) for i in sample_ids))
    if not ids:
        raise ApplicationError("no samples given", field="sample_ids")
    if len(ids) > MAX_BATCH_SAMPLES:
        raise ApplicationError(f"at most {MAX_BATCH_SAMPLES} samples per request, got {len(ids)}", field="sample_ids")
    add = list(dict.fromkeys(add))
    remove = list(dict.fromkeys(remove))
    _check_label_count(add, field="add")
    _check_label_count(remove, field="remove")
    for n in add:
        check_name(n, field="add")
    for n in remove:
        check_name(n, field="remove")
    if not add and not remove:
        raise ApplicationError("nothing to add or remove", field="add")
    task = dataset.task_type
    if task == TaskType.OBJECT_DETECTION and add:
        raise ApplicationError("object detection labels are added by drawing boxes", field="add")
    single = dataset_single_label(dataset=dataset)
    if single and len(add) > 1:
        raise ApplicationError(f"{_one_label_why(task)}, not {len(add)}", field="add")
    if set(add) & set(remove):
        raise ApplicationError("a label cannot be both added and removed", field="remove")

    with transaction.atomic():
        locked = list(
            Sample.objects.select_for_update().filter(dataset=dataset, pk__in=ids).order_by("pk").values_list("pk", flat=True)
        )
        if len(locked) != len(ids):
            unknown = sorted(str(i) for i in set(ids) - set(locked))
            raise ApplicationError(
                f"{len(unknown)} sample id(s) are not in this dataset: {', '.join(unknown[:5])}", field="sample_ids"
            )
        blind: dict[uuid.UUID, Sample] = {}
        if user is not None:
            for sample in Sample.objects.filter(
                Q(task_id__isnull=False) | Q(overlap_task_id__isnull=False), pk__in=ids
            ).only("pk", "name", "task_id", "assignee_id", "overlap_assignee_id", "overlap_answer"):
                if answers_blind(sample, user):
                    blind[sample.pk] = sample
                    continue
                refused = _locked_by_other(sample, user)
                if refused is not None:
                    raise refused
        for sample in blind.values():
            given = list((sample.overlap_answer or {}).get("labels") or [])
            if single and add:
                given = [add[0]]
            else:
                given = [n for n in dict.fromkeys([*given, *add]) if n not in remove]
            if add:
                labels_ensure(dataset=dataset, names=add)
            _overlap_answer_set(dataset, sample, {"labels": given}, user)
        ids_all, ids = ids, [i for i in ids if i not in blind]
        before = audit.snapshots(ids)
        current = Annotation.objects.filter(sample_id__in=ids)
        if remove:
            current.filter(label__name__in=remove).delete()
        if add:
            label_map = labels_ensure(dataset=dataset, names=add)
            if single:
                current.exclude(label=label_map[add[0]]).delete()
            have = set(current.filter(label__in=label_map.values()).values_list("sample_id", "label_id"))
            Annotation.objects.bulk_create(
                [
                    _new_annotation(dataset, sid, label, None, user, HUMAN, None)
                    for sid in ids
                    for label in label_map.values()
                    if (sid, label.pk) not in have
                ]
            )
        after = audit.snapshots(ids)
        changed = [i for i in ids if before[i] != after[i]]
        Sample.objects.filter(pk__in=ids).update(
            revision=F("revision") + 1,
            labeled=Exists(Annotation.objects.filter(sample=OuterRef("pk"))),
            updated_at=timezone.now(),
        )
        if changed:
            Sample.objects.filter(pk__in=changed).update(review_status="", reviewed_by=None, reviewed_at=None)
            audit.events_add_many(
                dataset=dataset, user=user, action="batch", changes={i: (before[i], after[i]) for i in changed}
            )
    return ids_all

"""Writes on labels and annotations.

Every write that changes what a sample carries runs in one transaction, locks the
samples it touches (``select_for_update``, in primary-key order so two writers cannot
deadlock) and bumps ``Sample.revision`` with ``F() + 1``, so an ``If-Match`` check and the
write it guards are atomic: two clients holding the same revision get one 200 and one 409.
"""

from __future__ import annotations

import math
import re
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from datasets.formats.errors import FormatError
from datasets.formats.filenames import stem
from datasets.formats.label_names import check_label_name
from datasets.formats.text import result_name_for
from datasets.labels import labels_ensure
from datasets.models import Annotation, Dataset, Label, Sample, SourceObject
from exeml.errors import ApplicationError, NotFound
from exeml.storage import StoragePathError, parse_storage_path, store_for_tenant
from exeml.task_types import COLOR_REQUIRED, TaskType
from labeling import audit
from projects.selectors import dataset_single_label

COLOR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")
MAX_BATCH_SAMPLES = 1000
# Each new label name is a row of its own: one request may not mint thousands.
MAX_LABELS_PER_REQUEST = 100
MAX_BOXES_PER_SAMPLE = 1000
HUMAN = "human"


class DeleteMode:
    LABEL_ONLY = "label_only"
    LABEL_AND_SAMPLES = "label_and_samples"
    LABEL_AND_SAMPLES_AND_FILES = "label_and_samples_and_files"
    ALL = (LABEL_ONLY, LABEL_AND_SAMPLES, LABEL_AND_SAMPLES_AND_FILES)


# --------------------------------------------------------------------------- validation


def _check_name(name: Any, field: str = "name") -> str:
    if not isinstance(name, str):
        raise ApplicationError("label name must be a string", field=field)
    try:
        check_label_name(name)
    except FormatError as exc:
        raise ApplicationError(exc.reason, field=field)
    return name


def _check_color(color: str, *, dataset: Dataset) -> str:
    if color:
        if not COLOR_RE.match(color):
            raise ApplicationError(f"color {color!r} is not #rrggbb", field="color")
        return color.lower()
    if dataset.task_type in COLOR_REQUIRED:
        raise ApplicationError(
            f"a color is required for {TaskType(dataset.task_type).label} labels", field="color"
        )
    return ""


def _check_shortcut(shortcut: str, *, dataset: Dataset, exclude: Label | None = None) -> str:
    if not shortcut:
        return ""
    if len(shortcut) != 1 or shortcut.isspace():
        raise ApplicationError("a shortcut is one character", field="shortcut")
    if dataset.task_type != TaskType.SOUND_CLASSIFICATION:
        raise ApplicationError("keyboard shortcuts are for sound classification labels", field="shortcut")
    clash = Label.objects.filter(dataset=dataset, shortcut__iexact=shortcut)
    if exclude is not None:
        clash = clash.exclude(pk=exclude.pk)
    if clash.exists():
        raise ApplicationError(f"shortcut {shortcut!r} is already used by another label", field="shortcut")
    return shortcut


def _refuse_tabular(dataset: Dataset) -> None:
    if dataset.task_type == TaskType.PREDICTIVE_ANALYTICS:
        raise ApplicationError(
            "predictive analytics datasets have no per-sample labels; choose a label column instead"
        )


# --------------------------------------------------------------------------- labels


def label_create(*, dataset: Dataset, name: str, color: str = "", shortcut: str = "") -> Label:
    _refuse_tabular(dataset)
    _check_name(name)
    color = _check_color(color, dataset=dataset)
    shortcut = _check_shortcut(shortcut, dataset=dataset)
    if Label.objects.filter(dataset=dataset, name=name).exists():
        raise ApplicationError(f"label {name!r} already exists", field="name")
    try:
        with transaction.atomic():
            return Label.objects.create(dataset=dataset, name=name, color=color, shortcut=shortcut)
    except IntegrityError:
        raise ApplicationError(f"label {name!r} already exists", field="name")


@transaction.atomic
def label_update(
    *, dataset: Dataset, name: str, new_name: str | None = None, color: str | None = None,
    shortcut: str | None = None,
) -> Label:
    """Rename (every sample keeps the label: it is one FK) and/or recolor a label."""
    label = Label.objects.select_for_update().filter(dataset=dataset, name=name).first()
    if label is None:
        raise NotFound(f"label {name!r} not found")
    renamed = new_name is not None and new_name != label.name
    if renamed:
        _check_name(new_name)
        if Label.objects.filter(dataset=dataset, name=new_name).exists():
            raise ApplicationError(f"label {new_name!r} already exists", field="name")
        label.name = new_name
    if color is not None:
        label.color = _check_color(color, dataset=dataset)
    if shortcut is not None:
        label.shortcut = _check_shortcut(shortcut, dataset=dataset, exclude=label)
    try:
        with transaction.atomic():
            label.save()
    except IntegrityError:
        raise ApplicationError(f"label {new_name!r} already exists", field="name")
    if renamed:
        # The samples' JSON changed, so clients holding an old revision must re-read.
        Sample.objects.filter(
            Exists(Annotation.objects.filter(label=label, sample=OuterRef("pk")))
        ).update(revision=F("revision") + 1, updated_at=timezone.now())
    return label


def _sibling_label_files(dataset: Dataset, key: str) -> list[str]:
    """Label files imported beside a data file, which go with it when it is deleted."""
    folder, _, name = key.rpartition("/")
    prefix = f"{folder}/" if folder else ""
    if dataset.task_type == TaskType.IMAGE_CLASSIFICATION:
        return [f"{prefix}{stem(name)}.txt"]
    if dataset.task_type == TaskType.OBJECT_DETECTION:
        return [f"{prefix}{stem(name)}.xml"]
    if dataset.task_type == TaskType.TEXT_CLASSIFICATION:
        return [f"{prefix}{result_name_for(name)}"]
    return []


def label_delete(*, dataset: Dataset, name: str, mode: str = DeleteMode.LABEL_ONLY) -> dict[str, Any]:
    """Delete a label by one of the guide's three modes.

    The database part is one transaction (a failure leaves the dataset as it was).
    Storage objects are deleted only after it committed, so a rollback never leaves
    samples whose files are gone; storage failures are reported, not raised. Call this
    outside any enclosing transaction.
    """
    if mode not in DeleteMode.ALL:
        raise ApplicationError(f"mode must be one of {', '.join(DeleteMode.ALL)}", field="mode")
    files_to_delete: list[str] = []
    files_kept: list[dict[str, str]] = []
    with transaction.atomic():
        label = Label.objects.select_for_update().filter(dataset=dataset, name=name).first()
        if label is None:
            raise NotFound(f"label {name!r} not found")
        affected = set(Annotation.objects.filter(label=label).values_list("sample_id", flat=True))
        list(Sample.objects.select_for_update().filter(pk__in=affected).order_by("pk").values_list("pk"))
        annotations_deleted, _ = Annotation.objects.filter(label=label).delete()
        label.delete()
        doomed: list[Sample] = []
        if mode != DeleteMode.LABEL_ONLY:
            doomed = list(
                Sample.objects.filter(pk__in=affected)
                .exclude(Exists(Annotation.objects.filter(sample=OuterRef("pk"))))
                .only("id", "source", "line_number")
            )
        doomed_ids = {s.pk for s in doomed}
        if mode == DeleteMode.LABEL_AND_SAMPLES_AND_FILES:
            files_to_delete, files_kept = _files_of(dataset, doomed, doomed_ids)
        if doomed_ids:
            Sample.objects.filter(pk__in=doomed_ids).delete()
        if files_to_delete:
            keys = [_key_of(uri) for uri in files_to_delete]
            SourceObject.objects.filter(dataset=dataset, key__in=[k for k in keys if k]).delete()
        # What these samples carry changed: a review of it no longer holds.
        Sample.objects.filter(pk__in=affected - doomed_ids).update(
            revision=F("revision") + 1,
            labeled=Exists(Annotation.objects.filter(sample=OuterRef("pk"))),
            updated_at=timezone.now(), review_status="", reviewed_by=None, reviewed_at=None,
        )
    storage_errors, deleted = _delete_files(dataset, files_to_delete)
    return {
        "label": name,
        "mode": mode,
        "annotations_deleted": annotations_deleted,
        "samples_deleted": len(doomed_ids),
        "files_deleted": deleted,
        "files_kept": files_kept,
        "storage_errors": storage_errors,
    }


def _files_of(dataset: Dataset, doomed: list[Sample], doomed_ids: set[uuid.UUID]) -> tuple[list[str], list[dict]]:
    """Source files of the doomed samples; a text file goes only when none of its lines survive."""
    by_source: dict[str, list[Sample]] = defaultdict(list)
    for s in doomed:
        by_source[s.source].append(s)
    delete: list[str] = []
    kept: list[dict[str, str]] = []
    surviving = set()
    if dataset.task_type == TaskType.TEXT_CLASSIFICATION and by_source:
        surviving = set(
            Sample.objects.filter(dataset=dataset, source__in=list(by_source))
            .exclude(pk__in=doomed_ids)
            .values_list("source", flat=True)
            .distinct()
        )
    for source in sorted(by_source):
        if source in surviving:
            kept.append({"file": source, "reason": "other samples of this text file remain, so the file was kept"})
            continue
        delete.append(source)
        try:
            path = parse_storage_path(source)
        except StoragePathError:
            continue
        delete.extend(f"s3://{path.bucket}/{k}" for k in _sibling_label_files(dataset, path.key))
    return delete, kept


def _key_of(uri: str) -> str | None:
    try:
        return parse_storage_path(uri).key
    except StoragePathError:
        return None


def _delete_files(dataset: Dataset, uris: list[str]) -> tuple[list[dict[str, str]], list[str]]:
    errors: list[dict[str, str]] = []
    deleted: list[str] = []
    by_bucket: dict[str, list[str]] = defaultdict(list)
    for uri in uris:
        try:
            path = parse_storage_path(uri)
        except StoragePathError as exc:
            errors.append({"file": uri, "reason": exc.reason})
            continue
        by_bucket[path.bucket].append(path.key)
    if not by_bucket:
        return errors, deleted
    store = store_for_tenant(dataset.tenant)
    for bucket, keys in by_bucket.items():
        try:
            store.delete_many(bucket, keys)
            deleted.extend(f"s3://{bucket}/{k}" for k in keys)
        except Exception as exc:  # noqa: BLE001 - reported to the caller, the DB part has committed
            errors.extend({"file": f"s3://{bucket}/{k}", "reason": str(exc)} for k in keys)
    return errors, deleted


# --------------------------------------------------------------------------- annotations


@dataclass(frozen=True)
class WantedAnnotation:
    label: str
    box: tuple[float, float, float, float] | None = None


def parse_if_match(value: str | None) -> int | None:
    """``3``, ``"3"`` and ``W/"3"`` all mean revision 3; absent means no check."""
    if value is None or not value.strip() or value.strip() == "*":
        return None
    raw = value.strip()
    if raw.startswith("W/"):
        raw = raw[2:]
    raw = raw.strip().strip('"')
    if not raw.isdigit():
        raise ApplicationError(f"If-Match {value!r} is not a sample revision", field="If-Match")
    return int(raw)


def _wanted_from_request(
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
        _check_name(n, field="labels")
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
    name = _check_name(obj.get("label"), field="objects")
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


def _conflict(sample: Sample) -> ApplicationError:
    from labeling.serializers import sample_representation

    return ApplicationError(
        f"the sample changed meanwhile (revision {sample.revision}); reload it and apply your change again",
        code="conflict",
        status=409,
        extra={"status": "conflict", "current": sample_representation(sample)},
    )


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
    _refuse_tabular(dataset)
    with transaction.atomic():
        sample = Sample.objects.select_for_update().filter(dataset=dataset, pk=sample_id).first()
        if sample is None:
            raise NotFound("sample not found")
        if expected_revision is not None and sample.revision != expected_revision:
            raise _conflict(sample)
        if answers_blind(sample, user):
            wanted = _wanted_from_request(dataset, sample, labels, objects)
            labels_ensure(dataset=dataset, names=[w.label for w in wanted])
            return _overlap_answer_set(dataset, sample, _answer_of(wanted), user)
        locked = _locked_by_other(sample, user)
        if locked is not None:
            raise locked
        wanted = _wanted_from_request(dataset, sample, labels, objects)
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
    _refuse_tabular(dataset)
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
        _check_name(n, field="add")
    for n in remove:
        _check_name(n, field="remove")
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

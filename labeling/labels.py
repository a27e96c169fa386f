"""Writes on a dataset's labels: create, rename/recolor, delete by the guide's three modes.

A rename or delete changes what samples carry, so it bumps their revision (clients holding
an old one re-read) and voids their reviews, in the transaction that changes them."""

from __future__ import annotations

import re
import uuid
from collections import defaultdict
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef
from django.utils import timezone

from datasets.formats.filenames import stem
from datasets.formats.text import result_name_for
from datasets.models import Annotation, Dataset, Label, Sample, SourceObject
from exeml.errors import ApplicationError, NotFound
from exeml.storage import StoragePathError, parse_storage_path, store_for_tenant
from exeml.task_types import COLOR_REQUIRED, TaskType
from labeling.validation import check_name, refuse_tabular

COLOR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")


class DeleteMode:
    LABEL_ONLY = "label_only"
    LABEL_AND_SAMPLES = "label_and_samples"
    LABEL_AND_SAMPLES_AND_FILES = "label_and_samples_and_files"
    ALL = (LABEL_ONLY, LABEL_AND_SAMPLES, LABEL_AND_SAMPLES_AND_FILES)


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


def label_create(*, dataset: Dataset, name: str, color: str = "", shortcut: str = "") -> Label:
    refuse_tabular(dataset)
    check_name(name)
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
        check_name(new_name)
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

"""Dataset versions: an immutable freeze of the labelled samples with a train/eval split,
written as a ModelArts manifest ``<dataset>-<version>.manifest`` in the output path.

The split is stratified and seeded: items are ordered by (source, line), shuffled per
stratum with ``Random(f"{seed}|{stratum}")``, and the first ``round(n * (1 - ratio))`` of
each stratum go to EVAL (at least one, and at least one left for TRAIN, when a stratum has
two or more). A multi-label or detection sample is stratified by the rarest label it
carries; a last pass moves one sample to EVAL for any class with two or more samples that
got none. Same seed and same samples, same split.
"""

from __future__ import annotations

import contextvars
import io
import logging
import math
import random
import re
import tempfile
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Max, Prefetch

from datasets.formats.csv_table import (
    CsvDialect,
    TableProfile,
    check_label_column,
    profile_csv_bytes,
    read_rows,
)
from datasets.formats.errors import FormatError
from datasets.formats.filenames import stem
from datasets.formats.manifest import format_time, make_annotation, manifest_line, text_source
from datasets.formats.voc import VocObject, write_voc
from datasets.models import (
    Annotation,
    Dataset,
    DatasetVersion,
    DatasetVersionItem,
    Sample,
    SampleStatus,
    VersionUsage,
)
from exeml.errors import ApplicationError
from exeml.storage import StorageError, StoragePath, StoragePathError, parse_storage_path, store_for_tenant
from exeml.task_types import TaskType

VERSION_NAME_RE = re.compile(r"^[A-Za-z0-9_.-]{1,40}$")
# DatasetVersion.seed is a PositiveIntegerField: a 32-bit column on PostgreSQL.
MAX_SEED = 2**31 - 1
TRAIN, EVAL = VersionUsage.TRAIN.value, VersionUsage.EVAL.value
log = logging.getLogger(__name__)


@dataclass
class FrozenItem:
    """One labelled sample as a version freezes it (also what exports consume)."""

    sample_id: Any
    source: str
    name: str
    line_number: int = 0
    text: str = ""
    width: int | None = None
    height: int | None = None
    labels: list[str] = field(default_factory=list)
    # detection: [{"label", "bbox": [xmin, ymin, xmax, ymax], "annotated_by", "confidence"}]
    boxes: list[dict[str, Any]] = field(default_factory=list)
    # classification: one {"name","annotated_by","creation_time","confidence"} per label
    meta: list[dict[str, Any]] = field(default_factory=list)
    usage: str = TRAIN
    # Team labeling: who made the newest annotation and who accepted them ("" when nobody).
    labeled_by: str = ""
    reviewed_by: str = ""


# --------------------------------------------------------------------------- pure split


def _round_half_up(x: float) -> int:
    return int(math.floor(x + 0.5))


def eval_count(n: int, train_ratio: float) -> int:
    """How many of ``n`` go to EVAL: ~n*(1-ratio), at least one each side when n >= 2."""
    if n < 2:
        return 0
    return max(1, min(n - 1, _round_half_up(n * (1 - train_ratio))))


def stratified_split(
    keys: Sequence[Any], label_sets: Sequence[Sequence[str]], *, train_ratio: float, seed: int
) -> list[str]:
    """``TRAIN``/``EVAL`` per item. ``keys`` order items deterministically (e.g. (source, line))."""
    freq: Counter[str] = Counter(lb for labels in label_sets for lb in set(labels))
    strata: dict[str, list[int]] = defaultdict(list)
    for i, labels in enumerate(label_sets):
        rarest = min(set(labels), key=lambda lb: (freq[lb], lb)) if labels else ""
        strata[rarest].append(i)
    usage = [TRAIN] * len(keys)
    order_of: dict[int, int] = {}
    for stratum in sorted(strata):
        members = sorted(strata[stratum], key=lambda i: keys[i])
        random.Random(f"{seed}|{stratum}").shuffle(members)
        for rank, i in enumerate(members):
            order_of[i] = rank
        for i in members[: eval_count(len(members), train_ratio)]:
            usage[i] = EVAL
    _ensure_eval_per_class(usage, label_sets, freq, order_of, keys)
    return usage


def _ensure_eval_per_class(usage, label_sets, freq, order_of, keys) -> None:
    for label in sorted(freq):
        if freq[label] < 2:
            continue
        carrying = [i for i, labels in enumerate(label_sets) if label in labels]
        if any(usage[i] == EVAL for i in carrying):
            continue
        train_count = Counter(lb for i, labels in enumerate(label_sets) if usage[i] == TRAIN for lb in set(labels))
        for i in sorted(carrying, key=lambda i: (order_of.get(i, 0), keys[i])):
            # Moving it must leave every class it carries with a TRAIN sample.
            if all(train_count[lb] >= 2 for lb in set(label_sets[i])):
                usage[i] = EVAL
                break


# --------------------------------------------------------------------------- freezing


FREEZE_BATCH = 1000  # samples read (with their annotations) per query when freezing


def freeze_samples(dataset: Dataset) -> list[FrozenItem]:
    """The labelled, status-ok samples with their labels/boxes, ordered by (source, line)."""
    ids, _, _ = frozen_keys(dataset)
    return [item for batch in iter_frozen(dataset, ids) for item in batch]


def has_frozen_samples(dataset: Dataset) -> bool:
    """Whether a freeze would hold anything: one EXISTS, not the freeze."""
    anns = Annotation.objects.filter(sample__dataset=dataset, sample__labeled=True, sample__status=SampleStatus.OK)
    if dataset.task_type == TaskType.OBJECT_DETECTION:
        anns = anns.filter(xmin__isnull=False)
    return anns.exists()


def frozen_keys(dataset: Dataset) -> tuple[list[Any], list[tuple[str, int]], list[list[str]]]:
    """The first pass of a freeze, in (source, line) order: the ids, order keys and label
    sets of the labelled samples that carry something to freeze, from two narrow streamed
    queries (no text, no model instances): what the split needs, a few dozen bytes a sample."""
    anns = Annotation.objects.filter(sample__dataset=dataset, sample__labeled=True, sample__status=SampleStatus.OK)
    if dataset.task_type == TaskType.OBJECT_DETECTION:
        anns = anns.filter(xmin__isnull=False)
    labels_of: dict[Any, set[str]] = defaultdict(set)
    for sample_id, name in anns.values_list("sample_id", "label__name").iterator(chunk_size=5000):
        labels_of[sample_id].add(name)
    rows = (
        Sample.objects.filter(dataset=dataset, labeled=True, status=SampleStatus.OK)
        .order_by("source", "line_number").values_list("pk", "source", "line_number")
    )
    ids, keys, label_sets = [], [], []
    for pk, source, line in rows.iterator(chunk_size=5000):
        names = labels_of.pop(pk, None)
        if names:
            ids.append(pk)
            keys.append((source, line))
            label_sets.append(sorted(names))
    return ids, keys, label_sets


def iter_frozen(dataset: Dataset, ids: Sequence[Any], *, batch: int | None = None) -> Iterator[list[FrozenItem]]:
    """The second pass: the items of ``ids`` (in that order), ``batch`` samples at a time, so
    memory holds one batch of texts and annotations however large the dataset."""
    batch = batch or FREEZE_BATCH
    detection = dataset.task_type == TaskType.OBJECT_DETECTION
    annotations = Prefetch(
        "annotations", queryset=Annotation.objects.select_related("label", "created_by").order_by("created_at", "id")
    )
    for start in range(0, len(ids), batch):
        chunk = ids[start : start + batch]
        by_pk = {
            s.pk: s
            for s in Sample.objects.filter(pk__in=chunk).select_related("reviewed_by").prefetch_related(annotations)
        }
        items = []
        for pk in chunk:
            s = by_pk.get(pk)
            item = _frozen(s, detection) if s is not None else None
            if item is not None:
                items.append(item)
        yield items


def _frozen(s: Sample, detection: bool) -> FrozenItem | None:
    anns = list(s.annotations.all())
    if detection:
        anns = [a for a in anns if a.xmin is not None]
    if not anns:
        return None  # unlabelled since the first pass
    item = FrozenItem(
        sample_id=s.pk, source=s.source, name=s.name, line_number=s.line_number, text=s.text,
        width=s.width, height=s.height, labels=sorted({a.label.name for a in anns}),
        labeled_by=next((a.created_by.username for a in reversed(anns) if a.created_by_id), ""),
        reviewed_by=s.reviewed_by.username if s.review_status == "accepted" and s.reviewed_by_id else "",
    )
    if detection:
        item.boxes = [
            {"label": a.label.name, "bbox": a.bbox, "annotated_by": a.annotated_by, "confidence": a.confidence}
            for a in anns
        ]
    seen = set()
    for a in anns:
        if a.label.name in seen:
            continue
        seen.add(a.label.name)
        item.meta.append({
            "name": a.label.name, "annotated_by": a.annotated_by, "confidence": a.confidence,
            "creation_time": format_time(a.created_at),
        })
    return item


def items_of_version(version: DatasetVersion) -> list[FrozenItem]:
    return [
        FrozenItem(
            sample_id=it.sample_id, source=it.source, name=_item_name(it), line_number=it.line_number,
            text=it.text, width=it.width, height=it.height, labels=list(it.labels), boxes=list(it.boxes),
            usage=it.usage, labeled_by=it.labeled_by, reviewed_by=it.reviewed_by,
        )
        for it in DatasetVersionItem.objects.filter(version=version).order_by("source", "line_number")
    ]


def _item_name(item: DatasetVersionItem) -> str:
    return item.source.rstrip("/").rsplit("/", 1)[-1]


# --------------------------------------------------------------------------- manifest


def manifest_name(dataset: Dataset, version_name: str) -> str:
    return f"{dataset.name}-{version_name}.manifest"


def item_manifest_line(task_type: str, item: FrozenItem, *, annotation_loc: str | None = None) -> str:
    source = text_source(item.text) if task_type == TaskType.TEXT_CLASSIFICATION else item.source
    if task_type == TaskType.OBJECT_DETECTION:
        first = item.meta[0] if item.meta else {}
        anns = [make_annotation(
            task_type, annotation_loc=annotation_loc, annotated_by=first.get("annotated_by", "human"),
            creation_time=first.get("creation_time"),
        )]
    else:
        meta = item.meta or [{"name": n, "annotated_by": "human"} for n in item.labels]
        anns = [
            make_annotation(
                task_type, name=m["name"], annotated_by=m.get("annotated_by") or "human",
                creation_time=m.get("creation_time"),
                confidence=m["confidence"] if m.get("annotated_by", "human") != "human" else None,
            )
            for m in meta
        ]
    return manifest_line(source=source, usage=item.usage, annotations=anns)


def item_voc(item: FrozenItem) -> bytes:
    objects = [
        VocObject(name=b["label"], xmin=b["bbox"][0], ymin=b["bbox"][1], xmax=b["bbox"][2], ymax=b["bbox"][3],
                  confidence=b.get("confidence") if b.get("annotated_by", "human") != "human" else None)
        for b in item.boxes
    ]
    return write_voc(filename=item.name, width=item.width or 0, height=item.height or 0, objects=objects)


def voc_names(items: Sequence[FrozenItem], used: set[str] | None = None) -> list[str]:
    """A unique ``<stem>.xml`` per item (``_2``, ``_3`` … when stems repeat); ``used`` carries
    the names of earlier batches."""
    used = set() if used is None else used
    out = []
    for item in items:
        base = stem(item.name) or "sample"
        name, k = base, 1
        while name in used:
            k += 1
            name = f"{base}_{k}"
        used.add(name)
        out.append(f"{name}.xml")
    return out


# --------------------------------------------------------------------------- CSV


def csv_profile(dataset: Dataset) -> TableProfile:
    data, _ = _csv_bytes(dataset)
    return profile_csv_bytes(
        data, max_bytes=settings.EXEML_LIMITS["csv_max_bytes"], has_header=dataset.csv_has_header
    )


def _csv_bytes(dataset: Dataset) -> tuple[bytes, str]:
    path = parse_storage_path(dataset.csv_path)
    store = store_for_tenant(dataset.tenant)
    info = store.head(path.bucket, path.key)
    data = store.read_bytes(path.bucket, path.key, max_bytes=settings.EXEML_LIMITS["csv_max_bytes"])
    return data, info.etag


def csv_rows(data: bytes, dialect: CsvDialect | None = None) -> list[list[str]]:
    """Data rows (blank lines and the header skipped), fields stripped: row i here is eval
    row index i, and data row i of the trainer's read with the same dialect."""
    return list(read_rows(io.BytesIO(data), dialect or CsvDialect()))


# --------------------------------------------------------------------------- publish


def _check_ratio(train_ratio: Any) -> float:
    try:
        ratio = float(train_ratio)
    except (TypeError, ValueError, OverflowError):
        raise ApplicationError("train_ratio must be a number between 0 and 1", field="train_ratio")
    if not (0 < ratio < 1) or not math.isfinite(ratio):
        raise ApplicationError("train_ratio must be greater than 0 and less than 1", field="train_ratio")
    return ratio


def _check_seed(seed: Any) -> int:
    if isinstance(seed, bool) or not isinstance(seed, int | str):
        raise ApplicationError(f"seed must be a whole number from 0 to {MAX_SEED}", field="seed")
    try:
        value = int(seed)
    except ValueError:
        raise ApplicationError(f"seed must be a whole number from 0 to {MAX_SEED}", field="seed")
    if not 0 <= value <= MAX_SEED:
        raise ApplicationError(f"seed must be a whole number from 0 to {MAX_SEED}", field="seed")
    return value


def _output_folder(dataset: Dataset) -> StoragePath:
    try:
        return parse_storage_path(dataset.output_path).as_folder()
    except StoragePathError as exc:
        raise ApplicationError(f"the dataset's output path is not usable: {exc.reason}", field="output_path")


@dataclass
class PublishHooks:
    """What a version job adds to a publish. ``progress(written, total)`` after each batch of
    samples; ``checkpoint()`` between batches (raises to stop: everything is undone);
    ``before_commit(version)`` inside the transaction, the version complete: raising there
    rolls the version back, and what it writes commits with the version or not at all."""

    progress: Callable[[int, int], None] = lambda written, total: None
    checkpoint: Callable[[], None] = lambda: None
    before_commit: Callable[[DatasetVersion], None] = lambda version: None


def version_params_check(
    *, dataset: Dataset, train_ratio: Any, seed: Any, name: str | None
) -> tuple[float, int, str | None]:
    """The checked (ratio, seed, name) of a publish, or ApplicationError (400) naming the field.

    Every parameter is checked before anything is written: a value the database cannot hold
    must be a 400 here, not a 500 after the manifest is in storage (or in a job's end)."""
    ratio = _check_ratio(train_ratio)
    seed = _check_seed(seed)
    if name is not None and name != "":
        if not VERSION_NAME_RE.match(name):
            raise ApplicationError("version name: 1-40 letters, digits, '_', '-' or '.'", field="name")
        if DatasetVersion.objects.filter(dataset=dataset, name=name).exists():
            raise ApplicationError(f"version {name!r} already exists", field="name")
    else:
        name = None
    _output_folder(dataset)
    return ratio, seed, name


def dataset_version_publish(
    *,
    dataset: Dataset,
    train_ratio: float = 0.8,
    name: str | None = None,
    seed: int = 0,
    user=None,
    label_column: str | None = None,
    label_type: str | None = None,
    hooks: PublishHooks | None = None,
) -> DatasetVersion:
    """Freeze the labelled samples (or, for predictive analytics, the CSV) into a new version.

    Writes the manifest (and detection's VOC files) to the output path, then the version
    and its items in one transaction; a failure at any step removes the files it wrote. Raises ApplicationError (400) on a bad ratio/name,
    a name clash, an empty dataset or, for predictive analytics, a missing/invalid label column.
    ``hooks`` (a version job's): progress per batch, and a last word before the commit.
    """
    ratio, seed, name = version_params_check(dataset=dataset, train_ratio=train_ratio, seed=seed, name=name)
    output = _output_folder(dataset)
    store = store_for_tenant(dataset.tenant)
    written: list[StoragePath] = []  # what this call put: removed again if it fails
    try:
        return _publish(dataset, ratio, name, seed, label_column, label_type, output, store, written,
                        hooks or PublishHooks())
    except BaseException as exc:
        _remove_written(store, written)
        if isinstance(exc, StoragePathError):  # e.g. "<dataset>-<version>.manifest" over 255 bytes
            raise ApplicationError(f"the version's files cannot be named in storage: {exc.reason}",
                                   field="name") from None
        raise


def _publish(
    dataset: Dataset, ratio: float, name: str | None, seed: int, label_column: str | None,
    label_type: str | None, output: StoragePath, store, written: list[StoragePath], hooks: PublishHooks,
) -> DatasetVersion:
    with transaction.atomic():
        Dataset.objects.select_for_update().filter(pk=dataset.pk).first()
        existing = DatasetVersion.objects.filter(dataset=dataset)
        number = (existing.aggregate(m=Max("number"))["m"] or 0) + 1
        if name is None:
            name = f"V{number:03d}"
            while existing.filter(name=name).exists():
                number += 1
                name = f"V{number:03d}"
        elif existing.filter(name=name).exists():
            raise ApplicationError(f"version {name!r} already exists", field="name")
        manifest_path = output.join(manifest_name(dataset, name))
        if dataset.task_type != TaskType.PREDICTIVE_ANALYTICS:
            version = _publish_samples(
                dataset, ratio, name, number, seed, manifest_path, output, store, written, hooks
            )
        else:
            counts, params, lines = _tabular(dataset, ratio, seed, label_column, label_type)
            written.append(manifest_path)
            store.put(manifest_path.bucket, manifest_path.key, ("\n".join(lines) + "\n").encode("utf-8"),
                      content_type="application/json")
            version = DatasetVersion.objects.create(
                dataset=dataset, name=name, number=number, train_ratio=ratio, seed=seed,
                manifest_path=str(manifest_path), counts=counts, params=params,
            )
        hooks.before_commit(version)
        return version


def _publish_samples(
    dataset: Dataset, ratio: float, name: str, number: int, seed: int, manifest_path: StoragePath,
    output: StoragePath, store, written: list[StoragePath], hooks: PublishHooks,
) -> DatasetVersion:
    """Split on the narrow first pass, then write the manifest (a temporary file) and the
    version's items one batch at a time: memory stays one batch whatever the dataset's size."""
    ids, keys, label_sets = frozen_keys(dataset)
    if not ids:
        raise ApplicationError("the dataset has no labelled samples to publish")
    usage_of = dict(zip(ids, stratified_split(keys, label_sets, train_ratio=ratio, seed=seed), strict=True))
    del keys, label_sets
    version = DatasetVersion.objects.create(
        dataset=dataset, name=name, number=number, train_ratio=ratio, seed=seed, manifest_path=str(manifest_path),
    )
    counts = _Counts()
    voc_used: set[str] = set()
    with tempfile.TemporaryFile() as manifest:
        for items in iter_frozen(dataset, ids):
            hooks.checkpoint()
            for it in items:
                it.usage = usage_of[it.sample_id]
                counts.add(it)
            lines = _write_item_files(dataset, items, output, name, store, written, voc_used)
            if lines:
                manifest.write(("\n".join(lines) + "\n").encode("utf-8"))
            DatasetVersionItem.objects.bulk_create([
                DatasetVersionItem(
                    tenant_id=dataset.tenant_id, version=version, sample_id=it.sample_id, usage=it.usage,
                    source=it.source, line_number=it.line_number, text=it.text, width=it.width,
                    height=it.height, labels=it.labels, boxes=it.boxes, labeled_by=it.labeled_by,
                    reviewed_by=it.reviewed_by,
                )
                for it in items
            ])
            hooks.progress(counts.total, len(ids))
        hooks.checkpoint()
        if not counts.total:
            raise ApplicationError("the dataset has no labelled samples to publish")
        manifest.seek(0)
        written.append(manifest_path)
        store.put(manifest_path.bucket, manifest_path.key, manifest, content_type="application/json")
    version.counts = counts.as_dict()
    version.save(update_fields=["counts"])
    return version


def _remove_written(store, written: list[StoragePath]) -> None:
    """Undo a publish that failed: the files it put must not stay in the output path."""
    by_bucket: dict[str, list[str]] = defaultdict(list)
    for loc in written:
        by_bucket[loc.bucket].append(loc.key)

    def remove() -> None:
        for bucket, keys in by_bucket.items():
            try:
                store.delete_many(bucket, keys)
            except StorageError:
                log.exception("version publish failed; could not remove its %d files from s3://%s", len(keys), bucket)

    # In a fresh context: a version job stopped by a cancel (or a storage stall) has its storage
    # watch stopped, which refuses every further storage call of the job, this clean-up too.
    if written:
        contextvars.Context().run(remove)


def _write_item_files(
    dataset: Dataset, items: list[FrozenItem], output: StoragePath, name: str, store, written: list[StoragePath],
    voc_used: set[str] | None = None,
) -> list[str]:
    if dataset.task_type != TaskType.OBJECT_DETECTION:
        return [item_manifest_line(dataset.task_type, it) for it in items]
    folder = output.join(f"{dataset.name}-{name}/annotations/")
    lines = []
    for it, xml_name in zip(items, voc_names(items, voc_used), strict=True):
        loc = folder.join(xml_name)
        written.append(loc)
        store.put(loc.bucket, loc.key, item_voc(it), content_type="application/xml")
        lines.append(item_manifest_line(dataset.task_type, it, annotation_loc=str(loc)))
    return lines


class _Counts:
    """``_counts`` summed batch by batch."""

    def __init__(self) -> None:
        self.total = self.train = 0
        self.per_label: dict[str, dict[str, int]] = {}

    def add(self, it: FrozenItem) -> None:
        self.total += 1
        self.train += it.usage == TRAIN
        for lb in it.labels:
            slot = self.per_label.setdefault(lb, {"train": 0, "eval": 0})
            slot["train" if it.usage == TRAIN else "eval"] += 1

    def as_dict(self) -> dict[str, Any]:
        return {"total": self.total, "train": self.train, "eval": self.total - self.train,
                "per_label": dict(sorted(self.per_label.items()))}


def _tabular(
    dataset: Dataset, ratio: float, seed: int, label_column: str | None, label_type: str | None
) -> tuple[dict, dict, list[str]]:
    if not label_column:
        raise ApplicationError("choose the label column first", field="label_column")
    if label_type not in ("discrete", "continuous"):
        raise ApplicationError("label_type must be discrete or continuous", field="label_type")
    if not dataset.csv_path:
        raise ApplicationError("the dataset has no CSV file")
    try:
        data, etag = _csv_bytes(dataset)
        profile = profile_csv_bytes(
            data, max_bytes=settings.EXEML_LIMITS["csv_max_bytes"], has_header=dataset.csv_has_header
        )
    except FormatError as exc:
        raise ApplicationError(f"the CSV file cannot be used: {exc.reason}", field="csv_path")
    except (StoragePathError, StorageError) as exc:
        raise ApplicationError(f"the CSV file cannot be read: {exc}", field="csv_path")
    reason = check_label_column(profile, label_column, label_type)
    if reason:
        raise ApplicationError(reason, field="label_column")
    col = profile.column(label_column)
    rows = csv_rows(data, profile.dialect)
    values = [r[col.index] if col.index < len(r) else "" for r in rows]
    strata = [[v] if label_type == "discrete" else [] for v in values]
    usages = stratified_split(list(range(len(rows))), strata, train_ratio=ratio, seed=seed)
    eval_rows = [i for i, u in enumerate(usages) if u == EVAL]
    per_label: dict[str, dict[str, int]] = {}
    if label_type == "discrete":
        for v, u in zip(values, usages, strict=True):
            slot = per_label.setdefault(v, {"train": 0, "eval": 0})
            slot["train" if u == TRAIN else "eval"] += 1
    counts = {
        "total": len(rows), "train": len(rows) - len(eval_rows), "eval": len(eval_rows),
        "per_label": dict(sorted(per_label.items())),
    }
    params = {
        "csv_path": dataset.csv_path, "etag": etag, "label_column": col.name, "label_type": label_type,
        "rows": len(rows), "eval_rows": eval_rows,
        # How the trainer reads the file: the same dialect, so its row i is this row i.
        "delimiter": profile.delimiter, "quotechar": profile.quotechar, "has_header": profile.has_header,
    }
    line = manifest_line(source=dataset.csv_path, usage=TRAIN, annotations=[])
    return counts, params, [line]

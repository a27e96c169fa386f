"""Synchronize a dataset with its input path: incremental, page by page, idempotent.

Every listed object gets a SourceObject row (key + etag), so a re-sync only reads what is
new or changed. A page is written with a fixed number of bulk queries, in transactions of at
most EXEML_IMPORT_BATCH_ROWS rows, so one tenant's 100k-line file never holds the database
for long. A new or changed object's etag is written last: a failure midway leaves it
"changed", and the next run (idempotent by dataset, source and line) finishes it. Objects
not seen by a complete listing are marked missing (with their samples), never dropped.

Label files may arrive before or after their data file: a new data file looks for its
label file among the stored objects, and a new label file looks for its data file's samples.
"""

from __future__ import annotations

import contextvars
import logging
import queue
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Sum
from django.db.models.base import ModelState
from django.utils import timezone

from datasets.formats import FormatError
from datasets.formats.errors import human_size
from datasets.formats.manifest import ManifestLineError, parse_manifest
from datasets.importing.base import Importer, Role, base_name, check_object_name
from datasets.importing.detection import voc_annotations
from datasets.importing.table import profile_object, profile_to_json
from datasets.labels import ImportedAnnotations, apply_imported_annotations_many
from datasets.models import Annotation, Dataset, ObjectStatus, Sample, SampleStatus, SourceObject
from exeml.dbutil import prepare_insert, yield_to_other_writers
from exeml.errors import public_reason
from exeml.jobs.models import Job, JobStatus
from exeml.jobs.services import job_checkpoint, job_progress
from exeml.storage import (
    ObjectInfo,
    ObjectNotFound,
    StorageError,
    StoragePathError,
    StorageStalled,
    TransientStorageError,
    ensure_within_roots,
    parse_storage_path,
    store_for_tenant,
)
from exeml.storage.read_ahead import read_ahead
from exeml.task_types import TaskType
from exeml.tenancy.services import samples_per_dataset_limit

log = logging.getLogger(__name__)

T = TypeVar("T")


def _chunks(items: list[T], size: int) -> Iterator[list[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


PAGE_SIZE = 500
LIST_PAGE_SIZE = 1000
READ_THREADS = 8
# The page loop waits for its readers this long at a time, then looks for a cancel or a
# storage stall: a hung read never holds the job longer than that.
READ_WAIT_SECONDS = 0.5
SAMPLE_UPDATE_FIELDS = [
    "source_object",
    "name",
    "size",
    "etag",
    "status",
    "format",
    "width",
    "height",
    "duration",
    "sample_rate",
    "channels",
    "bit_depth",
    "text",
    "labeled",
    "revision",
    "label_reason",
    "updated_at",
]
COUNT_KEYS = ("found", "imported", "unchanged", "skipped", "failed", "missing")
# The job that imports a large upload (datasets.upload_import). Its files are in the input
# path before it runs: a sync leaves them to it, or both would insert the same samples.
UPLOAD_JOB_KIND = "dataset_upload"


def _sample_factory(dataset: Dataset) -> Callable[[str, int], Sample]:
    """New, unsaved samples of ``dataset`` at a few microseconds each (a 100k-line file makes
    100k of them): Model.__init__'s per-field default and descriptor work is done once, for
    a template, and copied. Sample has no init signal receivers; the instance is the same as
    ``Sample(dataset=dataset, tenant_id=..., source=..., line_number=...)``."""
    template = Sample(dataset=dataset, tenant_id=dataset.tenant_id, source="", line_number=0).__dict__.copy()
    del template["_state"]
    pk = Sample._meta.pk.attname
    new = Sample.__new__

    def make(source: str, line: int) -> Sample:
        sample = new(Sample)
        sample.__dict__.update(template)
        sample._state = ModelState()
        sample._state.fields_cache["dataset"] = dataset
        sample.__dict__[pk] = uuid.uuid4()
        sample.source, sample.line_number = source, line
        return sample

    return make


@dataclass
class Outcome:
    """What happened to one object: the samples it yields, or why it was rejected."""

    sample_ids: list[Any] = field(default_factory=list)
    reason: str | None = None
    note: str = ""


class DatasetSync:
    def __init__(self, *, dataset: Dataset, job: Job | None = None) -> None:
        from datasets.importing import importer_for

        self.dataset = dataset
        self.tenant = dataset.tenant
        self.job = job
        self.store = store_for_tenant(self.tenant)
        source = parse_storage_path(dataset.csv_path or dataset.input_path)
        self.bucket = source.bucket
        self.prefix = source.as_folder().key if not dataset.csv_path else source.key
        out = parse_storage_path(dataset.output_path) if dataset.output_path else None
        self.out_prefix = out.as_folder().key if out is not None and out.bucket == self.bucket else None
        self.importer: Importer | None = (
            None if dataset.task_type == TaskType.PREDICTIVE_ANALYTICS else importer_for(dataset.task_type)
        )
        self.counts: Counter[str] = Counter({k: 0 for k in COUNT_KEYS})
        self.new_errors: list[dict[str, str]] = []
        self.batch = max(1, int(settings.EXEML_IMPORT_BATCH_ROWS))
        self._sample_limit: int | None = None
        self._batches = 0
        self._held: float | None = None  # seconds the last row batch held the database
        # Called after each batch of sample rows is written, with (rows written, rows of this
        # page): an upload's job reports its progress (and honours a cancel) from there.
        self.on_rows: Callable[[int, int], None] | None = None
        # False for an upload's own import: it imports the files it stored.
        self.leave_uploads = True

    # ------------------------------------------------------------------ entry points

    def run(self) -> dict[str, int]:
        started = timezone.now()
        if self.importer is None:
            self._sync_table()
        else:
            # Listed 1,000 keys a request (S3's most: a re-sync with nothing changed is mostly
            # its listing), the next page fetched while this one is compared and imported,
            # PAGE_SIZE objects at a time (the objects read are in memory).
            pages = self.store.list_pages(self.bucket, self.prefix, page_size=LIST_PAGE_SIZE)
            for page in read_ahead(pages, name=f"list-{self.dataset.pk}", checkpoint=job_checkpoint,
                                   wait_seconds=READ_WAIT_SECONDS):
                for part in _chunks(page.objects, PAGE_SIZE):
                    job_checkpoint()
                    self.process_page(part)
                self._flush(progress=0.5)
            self._mark_missing(started)
        self._update_storage_bytes()
        self._flush(progress=1.0)
        return dict(self.counts)

    def process_page(
        self, infos: list[ObjectInfo], preloaded: dict[str, bytes] | None = None
    ) -> dict[str, Outcome]:
        """Import one page of listed (or uploaded, ``preloaded``) objects, in bounded batches."""
        reads = self._select(infos, force=preloaded is not None)
        data, reasons = self._read(reads, preloaded or {})
        return self._import(reads, data, reasons)

    # ------------------------------------------------------------------ steps of a page

    def _select(self, infos: list[ObjectInfo], *, force: bool) -> list[tuple[ObjectInfo, Role | None, Any]]:
        # What is stored for this page's keys, compared in bulk with the listing: plain
        # tuples, no model instances. A re-sync with nothing changed costs this query, the
        # upload-keys query and one UPDATE of seen_at per page, whatever the page holds.
        keys = [i.key for i in infos]
        stored: dict[str, tuple[Any, str, int, str]] = {
            key: (pk, etag, size, status)
            for pk, key, etag, size, status in SourceObject.objects.filter(
                dataset=self.dataset, key__in=keys
            ).values_list("pk", "key", "etag", "size", "status")
        }
        uploading = self._uploading_keys() if self.leave_uploads else set()
        unchanged: list[Any] = []
        todo: list[tuple[ObjectInfo, Role | None, Any]] = []
        for info in infos:
            if info.key.endswith("/"):
                continue  # folder marker
            row = stored.get(info.key)
            if info.key in uploading:
                if row is not None:  # seen: not marked missing
                    unchanged.append(row[0])
                continue  # its upload's job imports it
            if self.out_prefix is not None and info.key.startswith(self.out_prefix):
                self.counts["skipped"] += 1
                self.new_errors.append(
                    {
                        "file": self.uri(info.key),
                        "skipped": True,
                        "reason": "inside the dataset's output path, where its own results are written: not imported",
                    }
                )
                continue
            self.counts["found"] += 1
            if (
                not force
                and row is not None
                and row[1] == info.etag
                and row[2] == info.size
                and row[3] != ObjectStatus.MISSING
            ):
                # Stored with this etag and size: its name passed the checks when it was stored.
                self.counts["unchanged"] += 1
                unchanged.append(row[0])
                continue
            folder, _, name = info.key.rpartition("/")
            try:
                # The rules an upload applies. Objects put there behind our back (e.g.
                # "a+b.jpg", "%2e%2e%2fx.jpg") are reported and left alone, not imported.
                check_object_name(folder + "/" if folder else "", name)
            except FormatError as exc:
                self.counts["failed"] += 1
                self.new_errors.append({"file": f"s3://{self.bucket}/{info.key}", "reason": exc.reason})
                continue
            role = self.importer.role(base_name(info.key))
            if role is None:
                # Named with its reason, like a refused file: a "skipped: 1" alone leaves the
                # user guessing which file and why (its row keeps the reason too).
                self.counts["skipped"] += 1
                self.new_errors.append(
                    {
                        "file": self.uri(info.key),
                        "skipped": True,
                        "reason": self.importer.unsupported_reason(name),
                    }
                )
            todo.append((info, role, row[0] if row is not None else None))
        if unchanged:
            SourceObject.objects.filter(pk__in=unchanged).update(seen_at=timezone.now())
        # The rows of new or changed objects, as instances: only those are written.
        changed = [pk for _info, _role, pk in todo if pk is not None]
        if changed:
            by_pk = SourceObject.objects.in_bulk(changed)
            todo = [(info, role, by_pk.get(pk) if pk is not None else None) for info, role, pk in todo]
        return todo

    def _uploading_keys(self) -> set[str]:
        """Keys that an upload of this dataset stored and its job has yet to import."""
        params = Job.objects.filter(
            kind=UPLOAD_JOB_KIND, target_id=self.dataset.pk, status__in=[JobStatus.QUEUED, JobStatus.RUNNING]
        ).values_list("params", flat=True)
        return {f["key"] for p in params for f in (p or {}).get("files", [])}

    def _read_one(self, key: str, max_bytes: int) -> bytes | str:
        # The listing gave the size already: one GET, never more than the limit held in memory.
        try:
            with self.store.open(self.bucket, key) as fh:
                data = fh.read(max_bytes + 1)
            if len(data) > max_bytes:
                return f"file is larger than the {human_size(max_bytes)} limit"
            return data
        except (TransientStorageError, StorageStalled):
            raise
        except ObjectNotFound:
            return "the object disappeared while it was being read"
        except StorageError as exc:
            return public_reason(exc)

    def _read(self, todo, preloaded: dict[str, bytes]) -> tuple[dict[str, bytes], dict[str, str]]:
        data: dict[str, bytes] = {}
        reasons: dict[str, str] = {}
        wanted: list[tuple[str, int]] = []
        for info, role, _so in todo:
            if role is None:
                continue
            if info.key in preloaded:
                data[info.key] = preloaded[info.key]
                continue
            max_bytes = self.importer.max_bytes(role)
            if info.size > max_bytes:
                reasons[info.key] = (
                    f"file is {human_size(info.size)}, larger than the {human_size(max_bytes)} limit"
                )
            elif info.size == 0:
                reasons[info.key] = "file is empty (0 bytes)"
            else:
                wanted.append((info.key, max_bytes))
        for key, got in self._read_many(wanted):
            if isinstance(got, bytes):
                data[key] = got
            else:
                reasons[key] = got
        return data, reasons

    def _read_many(self, wanted: list[tuple[str, int]]) -> Iterator[tuple[str, bytes | str]]:
        """Read objects on daemon threads; the caller's thread waits in short steps.

        Between steps it checks for a cancel or a storage stall (``job_checkpoint``), so a
        read hung on the storage never keeps the job from stopping. Readers left behind end
        with their call (bounded by the store's timeouts); they touch no database.
        """
        if not wanted:
            return
        todo: queue.SimpleQueue[tuple[str, int]] = queue.SimpleQueue()
        for item in wanted:
            todo.put(item)
        results: queue.SimpleQueue[tuple[str, bytes | str | BaseException]] = queue.SimpleQueue()
        quit_ = threading.Event()

        def reader() -> None:
            while not quit_.is_set():
                try:
                    key, max_bytes = todo.get_nowait()
                except queue.Empty:
                    return
                try:
                    results.put((key, self._read_one(key, max_bytes)))
                except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread
                    results.put((key, exc))

        for n in range(min(READ_THREADS, len(wanted))):
            # A copy of the context: the readers' storage calls count in this job's storage watch.
            ctx = contextvars.copy_context()
            threading.Thread(target=ctx.run, args=(reader,), name=f"sync-reader-{n}", daemon=True).start()
        try:
            for _ in range(len(wanted)):
                while True:
                    job_checkpoint()
                    try:
                        key, got = results.get(timeout=READ_WAIT_SECONDS)
                        break
                    except queue.Empty:
                        continue
                if isinstance(got, BaseException):
                    raise got
                yield key, got
        finally:
            quit_.set()  # readers take no new key; one in a call ends with it

    def _import(self, todo, data: dict[str, bytes], reasons: dict[str, str]) -> dict[str, Outcome]:
        now = timezone.now()
        ds = self.dataset
        outcomes: dict[str, Outcome] = {}
        rows_by_key: dict[str, list[dict[str, Any]]] = {}
        for info, role, _so in todo:
            if role == Role.DATA and info.key not in reasons:
                try:
                    rows = self.importer.inspect(base_name(info.key), data[info.key])
                    if not rows:
                        raise FormatError("the file has no non-empty lines")
                    rows_by_key[info.key] = rows
                except FormatError as exc:
                    reasons[info.key] = exc.reason
        self._check_sample_quota(rows_by_key, reasons)

        # Source objects first (samples point at them); final statuses are written at the end.
        so_by_key: dict[str, SourceObject] = {}
        new_sos: list[SourceObject] = []
        for info, role, so in todo:
            if so is None:
                so = SourceObject(dataset=ds, tenant_id=ds.tenant_id, key=info.key)
                new_sos.append(so)
            so.etag, so.size, so.seen_at = info.etag, info.size, now
            so.status = ObjectStatus.IGNORED if role is None else ObjectStatus.IMPORTED
            if info.key in reasons:
                so.status = ObjectStatus.INVALID
            so.reason = reasons.get(info.key, "")
            if role is None:
                so.reason = self.importer.unsupported_reason(base_name(info.key))
            so_by_key[info.key] = so
        # Stored without their etag until their samples are in: an interrupted page is redone.
        etags = {so.key: so.etag for so in new_sos}
        for so in new_sos:
            so.etag = ""
        SourceObject.objects.bulk_create(new_sos, batch_size=self.batch)
        for so in new_sos:
            so.etag = etags[so.key]

        data_keys = [info.key for info, role, _ in todo if role == Role.DATA]
        samples_by_key = self._upsert_samples(
            [(self.uri(k), base_name(k), so_by_key[k], rows_by_key.get(k)) for k in data_keys], now=now
        )
        for key in data_keys:
            if key in rows_by_key:
                self.counts["imported"] += 1
                outcomes[key] = Outcome(sample_ids=[s.pk for s in samples_by_key[self.uri(key)]])

        label_items = self._label_items(todo, data, reasons, samples_by_key, outcomes)
        apply_imported_annotations_many(dataset=ds, items=label_items)
        for info, role, _so in todo:
            if role == Role.MANIFEST and info.key not in reasons:
                self._import_manifest(info.key, data[info.key], outcomes, now=now)

        for info, role, _so in todo:
            so = so_by_key[info.key]
            if info.key in reasons:
                so.status, so.reason = ObjectStatus.INVALID, reasons[info.key]
                self.counts["failed"] += 1
                self.new_errors.append({"file": self.uri(info.key), "reason": reasons[info.key]})
                outcomes[info.key] = Outcome(reason=reasons[info.key])
            elif role is None:
                outcomes[info.key] = Outcome(reason=so.reason)
        if so_by_key:
            SourceObject.objects.bulk_update(
                list(so_by_key.values()), ["etag", "size", "seen_at", "status", "reason"], batch_size=100
            )
        return outcomes

    def _check_sample_quota(
        self, rows_by_key: dict[str, list[dict[str, Any]]], reasons: dict[str, str]
    ) -> None:
        """Refuse, file by file, what would take the dataset past its sample quota."""
        if not rows_by_key:
            return
        if self._sample_limit is None:
            self._sample_limit = samples_per_dataset_limit(self.tenant)
        limit = self._sample_limit
        held = Sample.objects.filter(dataset=self.dataset).count()
        uris = {self.uri(k): k for k in rows_by_key}
        already = dict(
            Sample.objects.filter(dataset=self.dataset, source__in=list(uris))
            .values("source")
            .annotate(n=Count("pk"))
            .values_list("source", "n")
        )
        for uri, key in uris.items():
            adding = max(0, len(rows_by_key[key]) - already.get(uri, 0))
            if held + adding > limit:
                reasons[key] = (
                    f"importing its {len(rows_by_key[key]):,} samples would take the dataset past its quota of "
                    f"{limit:,} samples"
                )
                del rows_by_key[key]
            else:
                held += adding

    def _upsert_samples(self, specs, *, now) -> dict[str, list[Sample]]:
        """specs: (source uri, name, source object or None, rows or None when invalid)."""
        ds = self.dataset
        sources = [s[0] for s in specs]
        have: dict[str, dict[int, Sample]] = defaultdict(dict)
        if sources:
            for s in Sample.objects.filter(dataset=ds, source__in=sources):
                have[s.source][s.line_number] = s
        create: list[Sample] = []
        update: dict[Any, Sample] = {}
        cleared: list[Any] = []
        out: dict[str, list[Sample]] = {}
        new_sample = _sample_factory(ds)
        for source, name, so, rows in specs:
            existing = have.get(source, {})
            got: list[Sample] = []
            lines = set()
            for row in rows or []:
                line = row["line_number"]
                lines.add(line)
                sample = existing.get(line)
                if sample is None:
                    sample = new_sample(source, line)
                    create.append(sample)
                else:
                    if "text" in row and sample.text != row["text"] and sample.labeled:
                        # The line now holds another text: its labels no longer apply.
                        cleared.append(sample.pk)
                        sample.labeled, sample.revision = False, sample.revision + 1
                    update[sample.pk] = sample
                for attr, value in row.items():
                    setattr(sample, attr, value)
                sample.name, sample.status, sample.updated_at = name, SampleStatus.OK, now
                if so is not None:
                    sample.source_object, sample.size, sample.etag = so, so.size, so.etag
                got.append(sample)
            for line, sample in existing.items():
                if line not in lines and sample.status != SampleStatus.MISSING:
                    sample.status, sample.updated_at = SampleStatus.MISSING, now
                    update[sample.pk] = sample
            out[source] = got
        # Short transactions, so other tenants' writers get the database between batches.
        for chunk in _chunks(cleared, self.batch):
            with transaction.atomic():
                Annotation.objects.filter(sample_id__in=chunk).delete()
        total = len(create) + len(update)
        for chunk in _chunks(create, self.batch):
            # New rows only (looked up above; the unique (dataset, source, line) index refuses
            # a duplicate): one prepared INSERT over the batch, its values converted before
            # the transaction, so the database is held for the writes alone.
            insert = prepare_insert(chunk)
            self._between_batches()
            started = time.perf_counter()
            with transaction.atomic():
                insert.execute()
            self._held = time.perf_counter() - started
            self._rows_written(len(chunk), total)
        for chunk in _chunks(list(update.values()), self.batch):
            self._between_batches()
            started = time.perf_counter()
            with transaction.atomic():
                Sample.objects.bulk_update(chunk, SAMPLE_UPDATE_FIELDS, batch_size=100)
            self._held = time.perf_counter() - started
            self._rows_written(len(chunk), total)
        return out

    def _rows_written(self, rows: int, total: int) -> None:
        if self.on_rows is not None:
            self.on_rows(rows, total)

    def _between_batches(self) -> None:
        self._batches += 1
        if self._batches > 1:
            # Sized by how long the last batch held the lock (None before any: the full pause).
            yield_to_other_writers(self._held)

    def _label_items(self, todo, data, reasons, samples_by_key, outcomes) -> list[ImportedAnnotations]:
        label_data = {
            info.key: data[info.key]
            for info, role, _ in todo
            if role == Role.LABEL and info.key not in reasons
        }
        # Label files stored by an earlier page or sync, for data files imported now.
        wanted: dict[str, str] = {}
        for source, samples in samples_by_key.items():
            if samples:
                label_key = self.importer.label_key_for(parse_storage_path(source).key)
                if label_key and label_key not in label_data:
                    wanted[label_key] = source
        stored: dict[str, bytes] = {}
        if wanted:
            keys = list(
                SourceObject.objects.filter(
                    dataset=self.dataset, key__in=list(wanted), status=ObjectStatus.IMPORTED
                ).values_list("key", flat=True)
            )
            for key in keys:
                got = self._read_one(key, self.importer.max_bytes(Role.LABEL))
                if isinstance(got, bytes):
                    stored[key] = got

        targets: dict[str, list[Sample]] = {k: samples_by_key[wanted[k]] for k in stored}
        lookup: dict[str, str] = {}
        for key in label_data:
            for data_key in self.importer.data_keys_for(key):
                uri = self.uri(data_key)
                if samples_by_key.get(uri):
                    targets[key] = samples_by_key[uri]
                    break
                lookup[uri] = key
        unresolved = {uri: k for uri, k in lookup.items() if k not in targets}
        if unresolved:
            for sample in Sample.objects.filter(
                dataset=self.dataset, source__in=list(unresolved), status=SampleStatus.OK
            ):
                targets.setdefault(unresolved[sample.source], []).append(sample)

        items: list[ImportedAnnotations] = []
        for key, raw in [*label_data.items(), *stored.items()]:
            samples = [s for s in targets.get(key, []) if s.status == SampleStatus.OK]
            try:
                items.extend(self.importer.parse_labels(raw, samples))
            except FormatError as exc:
                if key in label_data:
                    reasons[key] = exc.reason
                continue
            if key in label_data:
                self.counts["imported"] += 1
                outcomes[key] = Outcome(
                    sample_ids=[s.pk for s in samples], note="" if samples else "no matching data file yet"
                )
        return items

    def _import_manifest(self, key: str, raw: bytes, outcomes: dict[str, Outcome], *, now) -> None:
        """Samples listed by a ModelArts manifest (sources within the tenant's roots) and their labels."""
        manifest_uri = self.uri(key)
        errors: list[dict[str, str]] = []
        entries = []
        for entry in parse_manifest(raw.split(b"\n")):
            if isinstance(entry, ManifestLineError):
                errors.append({"file": f"{manifest_uri}:{entry.line_no}", "reason": entry.reason})
            else:
                entries.append(entry)
        specs: list[tuple[str, str, None, list[dict[str, Any]]]] = []
        text_rows: list[dict[str, Any]] = []
        resolved: list[tuple[Any, str, int]] = []  # entry, source, line
        have = set(
            Sample.objects.filter(
                dataset=self.dataset, source__in=[e.source for e in entries if e.text is None]
            ).values_list("source", flat=True)
        )
        for entry in entries:
            where = f"{manifest_uri}:{entry.line_no}"
            try:
                if entry.text is not None:
                    if self.dataset.task_type != TaskType.TEXT_CLASSIFICATION:
                        raise FormatError("content:// sources are for text classification only")
                    text_rows.append({"line_number": entry.line_no, "text": entry.text})
                    resolved.append((entry, manifest_uri, entry.line_no))
                    continue
                path = ensure_within_roots(parse_storage_path(entry.source), self.tenant.storage_roots)
                source = str(path)
                if source not in have:
                    got = self.store.read_bytes(
                        path.bucket, path.key, max_bytes=self.importer.max_bytes(Role.DATA)
                    )
                    specs.append((source, path.name, None, self.importer.inspect(path.name, got)))
                resolved.append((entry, source, 0))
            except (FormatError, StoragePathError, ObjectNotFound) as exc:
                errors.append({"file": where, "reason": public_reason(exc)})
            except TransientStorageError:
                raise
            except StorageError as exc:
                errors.append({"file": where, "reason": public_reason(exc)})
        if text_rows:
            specs.append((manifest_uri, base_name(key), None, text_rows))
        if specs:
            self._upsert_samples(specs, now=now)
        samples = {
            (s.source, s.line_number): s
            for s in Sample.objects.filter(dataset=self.dataset, source__in={src for _, src, _ in resolved})
        }
        items: list[ImportedAnnotations] = []
        for entry, source, line in resolved:
            sample = samples.get((source, line))
            if sample is None or not entry.annotations:
                continue
            first = entry.annotations[0]
            try:
                if first.annotation_loc:
                    loc = ensure_within_roots(
                        parse_storage_path(first.annotation_loc), self.tenant.storage_roots
                    )
                    voc = self.store.read_bytes(
                        loc.bucket, loc.key, max_bytes=self.importer.max_bytes(Role.LABEL)
                    )
                    item = voc_annotations(voc, sample)
                else:
                    item = ImportedAnnotations(
                        sample=sample, labels=[a.name for a in entry.annotations if a.name]
                    )
            except (FormatError, StoragePathError, ObjectNotFound) as exc:
                errors.append({"file": f"{manifest_uri}:{entry.line_no}", "reason": public_reason(exc)})
                continue
            item.annotated_by = first.annotated_by or "human"
            item.confidence = first.confidence if item.confidence is None else item.confidence
            items.append(item)
        apply_imported_annotations_many(dataset=self.dataset, items=items)
        self.counts["imported"] += 1
        self.counts["failed"] += len(errors)
        self.new_errors.extend(errors)
        outcomes[key] = Outcome(sample_ids=[s.pk for s in samples.values()])

    # ------------------------------------------------------------------ predictive analytics

    def _sync_table(self) -> None:
        ds = self.dataset
        now = timezone.now()
        so = SourceObject.objects.filter(dataset=ds, key=self.prefix).first()
        try:
            info = self.store.head(self.bucket, self.prefix)
        except ObjectNotFound:
            if so is not None and so.status != ObjectStatus.MISSING:
                SourceObject.objects.filter(pk=so.pk).update(status=ObjectStatus.MISSING)
                Sample.objects.filter(dataset=ds).update(status=SampleStatus.MISSING)
                self.counts["missing"] += 1
            self.counts["failed"] += 1
            self.new_errors.append({"file": ds.csv_path, "reason": "the CSV file does not exist"})
            return
        self.counts["found"] += 1
        if so is not None and so.etag == info.etag and so.status != ObjectStatus.MISSING:
            self.counts["unchanged"] += 1
            return
        try:
            profile = profile_object(self.store, self.bucket, info, has_header=ds.csv_has_header)
            reason = ""
        except FormatError as exc:
            profile, reason = None, exc.reason
        with transaction.atomic():
            if so is None:
                so = SourceObject(dataset=ds, tenant_id=ds.tenant_id, key=info.key)
            so.etag, so.size, so.seen_at = info.etag, info.size, now
            so.status = ObjectStatus.INVALID if reason else ObjectStatus.IMPORTED
            so.reason = reason
            so.save()
            ds.table_profile = profile_to_json(profile) if profile else {}
            ds.save(update_fields=["table_profile"])
            if reason:
                Sample.objects.filter(dataset=ds).update(status=SampleStatus.MISSING)
                self.counts["failed"] += 1
                self.new_errors.append({"file": ds.csv_path, "reason": reason})
                return
            Sample.objects.update_or_create(
                dataset=ds,
                source=ds.csv_path,
                line_number=0,
                defaults={
                    "tenant_id": ds.tenant_id,
                    "name": base_name(info.key),
                    "source_object": so,
                    "size": info.size,
                    "etag": info.etag,
                    "format": "CSV",
                    "status": SampleStatus.OK,
                },
            )
            self.counts["imported"] += 1

    # ------------------------------------------------------------------ bookkeeping

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"

    def _mark_missing(self, started) -> None:
        # The unseen objects' ids first, then their samples by id, a batch at a time (none
        # at all on a re-sync with nothing gone). The samples were once updated through a
        # subquery on the unseen objects: without fresh statistics (autovacuum off, or not
        # yet run on a first sync's own rows) PostgreSQL planned a nested loop rescanning
        # the dataset's objects for every sample, 6 minutes at 20,000 samples.
        gone = (
            SourceObject.objects.filter(dataset=self.dataset, seen_at__lt=started)
            .exclude(status=ObjectStatus.MISSING)
            .order_by()
        )
        while ids := list(gone.values_list("pk", flat=True)[: self.batch]):
            with transaction.atomic():
                Sample.objects.filter(dataset=self.dataset, source_object_id__in=ids).exclude(
                    status=SampleStatus.MISSING
                ).update(status=SampleStatus.MISSING)
                # Marked missing (or seen since), they leave ``gone``: the loop ends.
                self.counts["missing"] += gone.filter(pk__in=ids).update(status=ObjectStatus.MISSING)

    def _update_storage_bytes(self) -> None:
        total = (
            SourceObject.objects.filter(dataset=self.dataset)
            .exclude(status=ObjectStatus.MISSING)
            .aggregate(total=Sum("size"))["total"]
            or 0
        )
        Dataset.objects.filter(pk=self.dataset.pk).update(storage_bytes=total)
        self.dataset.storage_bytes = total

    def _flush(self, *, progress: float) -> None:
        if self.job is not None:
            job_progress(
                job=self.job, progress=progress, counts=dict(self.counts), new_errors=self.new_errors
            )
        self.new_errors = []

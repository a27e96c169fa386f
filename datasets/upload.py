"""Files added from the user's PC: validated one by one, written to the input path, registered.

Registration goes through the same page import as a sync, so a later sync sees the files
unchanged and label files uploaded alongside are applied. Sizes and names (in bytes, as the
store counts) are checked before anything is written.

A small upload (``EXEML_UPLOAD_INLINE``: by default at most 20 files, 1 MiB and 1,000 rows,
a text file's lines counting one row each) is imported within the request: 201 with the
accepted files and the refused ones with their reasons; none accepted: 400
(``UploadRejected``) and nothing kept. A larger one is written to its final place in the
input path and answered 202 with a ``dataset_upload`` job, which a worker imports
(``datasets.upload_import``): the request never holds a web process for the import. Files
refused by the request's checks are in the job's errors from the start; every file of the
request refused there is still 400, nothing written.

Either way a refused file's object is removed, and an upload that fails midway (or whose
job is cancelled) removes every object it added with the rows registered for it: nothing of
a refused upload stays behind.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import transaction

from datasets.formats import FormatError
from datasets.formats.errors import human_size
from datasets.importing.base import Role, check_object_name
from datasets.models import Dataset, Sample, SourceObject
from datasets.services import dataset_storage_refresh
from datasets.sync import UPLOAD_JOB_KIND, DatasetSync, Outcome
from exeml.errors import ApplicationError, public_reason
from exeml.jobs.models import Job
from exeml.jobs.services import CANCELLABLE_KINDS, ON_CANCELLED, job_create, job_progress
from exeml.queues import Queue
from exeml.storage import ObjectInfo, StorageError, TransientStorageError
from exeml.task_types import TaskType
from exeml.tenancy.services import quota_check

log = logging.getLogger(__name__)


class UploadRejected(ApplicationError):
    """Every file of the upload was refused: 400 naming the ``files`` field, each file's reason
    in ``rejected`` (the shape of a partial success, with ``accepted`` empty)."""

    SHOWN = 5

    def __init__(self, rejected: list[dict[str, Any]]) -> None:
        reasons = "; ".join(f"{r['file']}: {r['reason']}" for r in rejected[: self.SHOWN])
        more = f"; and {len(rejected) - self.SHOWN} more" if len(rejected) > self.SHOWN else ""
        n = len(rejected)
        head = "the file was not accepted" if n == 1 else f"none of the {n} files was accepted"
        super().__init__(
            f"{head}: {reasons}{more}",
            code="all_rejected",
            field="files",
            extra={"accepted": [], "rejected": rejected},
        )


# Runs under job_heartbeat: a cancel stops the import, and none of the upload's new files stays.
CANCELLABLE_KINDS.add(UPLOAD_JOB_KIND)


def _forget_cancelled_upload(job: Job) -> None:
    """A job cancelled before a worker ran it (or whose worker died): its new files go."""
    dataset = Dataset.objects.select_related("tenant").filter(pk=job.target_id).first()
    if dataset is not None:
        keys = [raw["key"] for raw in job.params.get("files", []) if raw.get("new")]
        forget_new(DatasetSync(dataset=dataset), keys)


ON_CANCELLED[UPLOAD_JOB_KIND] = _forget_cancelled_upload


@dataclass
class IncomingFile:
    name: str  # as the client sent it, unsanitized (checked here)
    size: int
    read: Any  # () -> bytes


@dataclass
class StoredFile:
    """One file of an upload, written to its place: what the import needs to register it."""

    name: str
    info: ObjectInfo
    new: bool  # not a re-upload of a registered object: removed again if refused

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "key": self.info.key, "size": self.info.size, "etag": self.info.etag,
                "new": self.new}

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> StoredFile:
        info = ObjectInfo(key=raw["key"], size=int(raw["size"]), etag=raw["etag"], mtime=datetime.now(UTC))
        return cls(name=raw["name"], info=info, new=bool(raw["new"]))


def samples_upload(
    *, dataset: Dataset, files: list[IncomingFile], user: Any = None
) -> dict[str, list[dict[str, Any]]] | Job:
    """Validate and store uploaded files; one bad file does not block the others.

    Returns the answer of an upload imported now ({accepted, rejected}), or the job that
    imports a larger one. Raises 413 when the whole request is over the limit, 403 (quota)
    when storage would overflow, UploadRejected (400) when no file is accepted.
    """
    limit = int(settings.EXEML_LIMITS["upload_request_max_bytes"])
    total = sum(f.size for f in files)
    if total > limit:
        raise ApplicationError(
            f"the upload is {human_size(total)}, more than the {human_size(limit)} allowed per request",
            code="too_large", status=413,
        )
    if not files:
        raise ApplicationError("no files were sent (multipart field 'files')", field="files")
    quota_check(tenant=dataset.tenant, quota="max_storage_bytes", adding=total)
    rejected: list[dict[str, Any]] = []
    if dataset.task_type == TaskType.PREDICTIVE_ANALYTICS:
        reason = "predictive analytics reads its training CSV from storage; upload it there and synchronize"
        raise UploadRejected([{"file": f.name, "reason": reason} for f in files])

    sync = DatasetSync(dataset=dataset)
    good = _checked(sync, files, rejected)
    inline = runs_inline(sync, good)
    if inline:
        # Parsed now as well: the answer names every refused file.
        _check_contents(sync, good, rejected)
    if not good:
        raise UploadRejected(rejected)  # refused before anything was stored

    # Objects this upload adds (not re-uploads of registered ones): removed again when their
    # file is refused, or when the request fails midway.
    registered = set(
        SourceObject.objects.filter(dataset=dataset, key__in=list(good)).values_list("key", flat=True)
    )
    written: list[str] = []  # new keys this request has put (or tried to)
    # A large upload's job exists before its first put: a sync running meanwhile leaves the
    # files to it (both importing one file would insert its samples twice).
    job = None if inline else _reserve_job(sync, good, registered, user=user)
    try:
        stored = _put_all(sync, good, registered, written, rejected)
        if job is None:
            return _register_now(sync, good, stored, written, rejected)
        return _start_import(sync, job, stored, written, rejected)
    except UploadRejected:
        if job is not None:
            job.delete()  # never ran: nothing to follow
        raise  # its refused files are forgotten already
    except BaseException:
        # Whatever broke midway (a storage or database error nobody expected, a bug): what
        # this request put goes again, with any row or sample already registered for it, so
        # that no object is left for the next sync to import behind the user's back.
        try:
            if job is not None:
                job.delete()
            forget_new(sync, written)
        except Exception:
            log.exception("upload to dataset %s failed; could not undo its %d new objects", dataset.pk, len(written))
        raise


def _checked(sync: DatasetSync, files: list[IncomingFile], rejected: list[dict[str, Any]]) -> dict[str, tuple[str, bytes]]:
    """The files that pass the checks needing no parsing (name, type, size, not empty), by key."""
    importer, folder = sync.importer, sync.prefix
    good: dict[str, tuple[str, bytes]] = {}
    for f in files:
        try:
            # Refused before anything is stored, by the same rules a sync applies.
            check_object_name(folder, f.name)
            role = importer.role(f.name)
            if role is None:
                raise FormatError(importer.unsupported_reason(f.name))
            max_bytes = importer.max_bytes(role)
            if f.size > max_bytes:
                raise FormatError(f"file is {human_size(f.size)}, larger than the {human_size(max_bytes)} limit")
            data = f.read()
            if not data:
                raise FormatError("file is empty (0 bytes)")
        except FormatError as exc:
            rejected.append({"file": f.name, "reason": exc.reason})
            continue
        good[folder + f.name] = (f.name, data)
    return good


def _check_contents(sync: DatasetSync, good: dict[str, tuple[str, bytes]], rejected: list[dict[str, Any]]) -> None:
    importer = sync.importer
    for key, (name, data) in list(good.items()):
        try:
            role = importer.role(name)
            if role == Role.DATA:
                importer.inspect(name, data)
            elif role == Role.LABEL:
                importer.parse_labels(data, [])
        except FormatError as exc:
            rejected.append({"file": name, "reason": exc.reason})
            del good[key]


def runs_inline(sync: DatasetSync, good: dict[str, tuple[str, bytes]]) -> bool:
    """Whether this upload is imported within the request (``EXEML_UPLOAD_INLINE``).

    Rows are what the import's time grows with: a text file's lines (counted as newlines,
    without decoding), one per other file.
    """
    rule = settings.EXEML_UPLOAD_INLINE
    text = sync.dataset.task_type == TaskType.TEXT_CLASSIFICATION
    rows = sum(_lines(data) if text else 1 for _name, data in good.values())
    size = sum(len(data) for _name, data in good.values())
    return len(good) <= int(rule["max_files"]) and size <= int(rule["max_bytes"]) and rows <= int(rule["max_rows"])


def _lines(data: bytes) -> int:
    return data.count(b"\n") + (0 if data.endswith(b"\n") else 1)


def _put_all(
    sync: DatasetSync,
    good: dict[str, tuple[str, bytes]],
    registered: set[str],
    written: list[str],
    rejected: list[dict[str, Any]],
) -> list[StoredFile]:
    stored: list[StoredFile] = []
    for key, (name, data) in good.items():
        if key not in registered:
            written.append(key)  # before the put: a put that fails halfway may leave something
        try:
            info = sync.store.put(sync.bucket, key, data)
        except TransientStorageError as exc:
            rejected.append({"file": name, "reason": public_reason(exc)})
            continue
        except StorageError as exc:
            rejected.append({"file": name, "reason": f"could not be stored: {public_reason(exc)}"})
            continue
        stored.append(StoredFile(name=name, info=info, new=key not in registered))
    # Data files before label files, so labels find their samples in the same import.
    stored.sort(key=lambda s: sync.importer.role(s.name) != Role.DATA)
    return stored


def _register_now(
    sync: DatasetSync,
    good: dict[str, tuple[str, bytes]],
    stored: list[StoredFile],
    written: list[str],
    rejected: list[dict[str, Any]],
) -> dict[str, list[dict[str, Any]]]:
    infos = [s.info for s in stored]
    outcomes = sync.process_page(infos, preloaded={k: v[1] for k, v in good.items()}) if infos else {}
    accepted: list[dict[str, Any]] = []
    # A put that failed is refused; its key is forgotten too (nothing of it may stay).
    stored_keys = {s.info.key for s in stored}
    refused_new = [k for k in written if k not in stored_keys]
    refused_new += sort_outcomes(stored, outcomes, accepted, rejected)
    return finish_upload(sync, stored, refused_new, accepted, rejected)


def sort_outcomes(
    stored: list[StoredFile], outcomes: dict[str, Outcome], accepted: list[dict[str, Any]],
    rejected: list[dict[str, Any]],
) -> list[str]:
    """Each stored file accepted or refused by its import outcome; the refused new keys."""
    refused_new: list[str] = []
    for s in stored:
        outcome = outcomes.get(s.info.key)
        if outcome is None or outcome.reason:
            rejected.append({"file": s.name, "reason": outcome.reason if outcome else "not imported"})
            if s.new:
                refused_new.append(s.info.key)
        else:
            # The first sample's id, as text (a job's result is JSON).
            entry: dict[str, Any] = {"file": s.name, "id": str(outcome.sample_ids[0]) if outcome.sample_ids else None}
            if len(outcome.sample_ids) > 1:
                entry["count"] = len(outcome.sample_ids)
            if outcome.note:
                entry["note"] = outcome.note
            accepted.append(entry)
    return refused_new


def finish_upload(
    sync: DatasetSync, stored: list[StoredFile], refused_new: list[str], accepted: list[dict[str, Any]],
    rejected: list[dict[str, Any]],
) -> dict[str, list[dict[str, Any]]]:
    """Forget the refused new files; raise UploadRejected when none was accepted."""
    # A refused file is not kept in the input path, whatever happened to the others: the
    # next sync would otherwise find it and report it again as the user's leftover.
    forget_new(sync, refused_new)
    if not accepted:
        if any(not s.new for s in stored):
            dataset_storage_refresh(dataset=sync.dataset)  # re-uploaded objects did change
        raise UploadRejected(rejected)
    dataset_storage_refresh(dataset=sync.dataset)
    return {"accepted": accepted, "rejected": rejected}


def _reserve_job(sync: DatasetSync, good: dict[str, tuple[str, bytes]], registered: set[str], *, user: Any) -> Job:
    files = [{"name": name, "key": key, "new": key not in registered} for key, (name, _data) in good.items()]
    return job_create(
        kind=UPLOAD_JOB_KIND, target_type="dataset", target_id=sync.dataset.pk, user=user,
        params={"files": files, "rejected": []},
    )


def _start_import(
    sync: DatasetSync, job: Job, stored: list[StoredFile], written: list[str], rejected: list[dict[str, Any]]
) -> Job:
    """Hand the stored files to a worker's import job (enqueued once the request commits)."""
    from datasets.tasks import dataset_upload_task

    stored_keys = {s.info.key for s in stored}
    forget_new(sync, [k for k in written if k not in stored_keys])  # puts that failed
    if not stored:
        raise UploadRejected(rejected)
    job.params = {"files": [s.to_json() for s in stored], "rejected": rejected}
    job.save(update_fields=["params"])
    job_progress(
        job=job, progress=0.0, new_errors=list(rejected),
        counts={"files": len(stored) + len(rejected), "files_done": 0, "samples_written": 0},
    )
    tenant_id = str(sync.dataset.tenant_id)
    transaction.on_commit(
        lambda: dataset_upload_task.apply_async(args=[str(job.pk), tenant_id], queue=Queue.DEFAULT.value)
    )
    return job


def forget_new(sync: DatasetSync, keys: list[str]) -> None:
    """Undo the new objects of files an upload refused or could not finish: the objects, their
    rows and any sample registered from them go."""
    if not keys:
        return
    try:
        with transaction.atomic():
            Sample.objects.filter(dataset=sync.dataset, source_object__key__in=keys).delete()
            SourceObject.objects.filter(dataset=sync.dataset, key__in=keys).delete()
    finally:  # the objects go even when the database cannot answer
        try:
            sync.store.delete_many(sync.bucket, keys)
        except StorageError:  # the answer stays the per-file reasons; a later sync reports leftovers
            pass

"""Files added from the user's PC: validated one by one, written to the input path, registered.

Registration goes through the same page import as a sync, so a later sync sees the files
unchanged and label files uploaded alongside are applied. Some files accepted: 201 with the
rejected ones listed; none accepted: 400 (``UploadRejected``) and nothing kept. Names are
checked in bytes, as the store counts, before anything is written; a refused file's object is
removed, and a request that fails midway (any exception) removes every object it added with
the rows registered for it: no object outlives the request without its row.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction

from datasets.formats import FormatError
from datasets.formats.errors import human_size
from datasets.importing.base import Role, check_object_name
from datasets.models import Dataset, Sample, SourceObject
from datasets.services import dataset_storage_refresh
from datasets.sync import DatasetSync
from exeml.errors import ApplicationError, public_reason
from exeml.storage import StorageError, TransientStorageError
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


@dataclass
class IncomingFile:
    name: str  # as the client sent it, unsanitized (checked here)
    size: int
    read: Any  # () -> bytes


def samples_upload(*, dataset: Dataset, files: list[IncomingFile]) -> dict[str, list[dict[str, Any]]]:
    """Validate, store and register uploaded files; one bad file does not block the others.

    Raises 413 when the whole request is over the limit, 403 (quota) when storage would overflow,
    UploadRejected (400) when no file is accepted.
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
    accepted: list[dict[str, Any]] = []
    rejected: list[dict[str, Any]] = []
    if dataset.task_type == TaskType.PREDICTIVE_ANALYTICS:
        reason = "predictive analytics reads its training CSV from storage; upload it there and synchronize"
        raise UploadRejected([{"file": f.name, "reason": reason} for f in files])

    sync = DatasetSync(dataset=dataset)
    importer = sync.importer
    folder = sync.prefix
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
            if role == Role.DATA:
                importer.inspect(f.name, data)
            elif role == Role.LABEL:
                importer.parse_labels(data, [])
        except FormatError as exc:
            rejected.append({"file": f.name, "reason": exc.reason})
            continue
        good[folder + f.name] = (f.name, data)
    if not good:
        raise UploadRejected(rejected)  # refused before anything was stored

    # Objects this upload adds (not re-uploads of registered ones): removed again when their
    # file is refused, or when the request fails midway.
    registered = set(
        SourceObject.objects.filter(dataset=dataset, key__in=list(good)).values_list("key", flat=True)
    )
    written: list[str] = []  # new keys this request has put (or tried to)
    try:
        return _store_and_register(sync, good, registered, written, accepted, rejected)
    except UploadRejected:
        raise  # its refused files are forgotten already
    except BaseException:
        # Whatever broke midway (a storage or database error nobody expected, a bug): what
        # this request put goes again, with any row or sample already registered for it, so
        # that no object is left for the next sync to import behind the user's back.
        try:
            _forget_new(sync, written)
        except Exception:
            log.exception("upload to dataset %s failed; could not undo its %d new objects", dataset.pk, len(written))
        raise


def _store_and_register(
    sync: DatasetSync,
    good: dict[str, tuple[str, bytes]],
    registered: set[str],
    written: list[str],
    accepted: list[dict[str, Any]],
    rejected: list[dict[str, Any]],
) -> dict[str, list[dict[str, Any]]]:
    dataset, importer = sync.dataset, sync.importer
    infos = []
    for key, (name, data) in good.items():
        if key not in registered:
            written.append(key)  # before the put: a put that fails halfway may leave something
        try:
            infos.append(sync.store.put(sync.bucket, key, data))
        except TransientStorageError as exc:
            rejected.append({"file": name, "reason": public_reason(exc)})
        except StorageError as exc:
            rejected.append({"file": name, "reason": f"could not be stored: {public_reason(exc)}"})
    # Data files before label files, so labels find their samples in the same request.
    infos.sort(key=lambda i: importer.role(i.key.rsplit("/", 1)[-1]) != Role.DATA)
    outcomes = sync.process_page(infos, preloaded={k: v[1] for k, v in good.items()}) if infos else {}
    refused_new: list[str] = []
    stored = {info.key for info in infos}
    # A put that failed is refused; its key is forgotten too (nothing of it may stay).
    refused_new.extend(k for k in written if k not in stored)
    for info in infos:
        name = good[info.key][0]
        outcome = outcomes.get(info.key)
        if outcome is None or outcome.reason:
            rejected.append({"file": name, "reason": outcome.reason if outcome else "not imported"})
            if info.key not in registered:
                refused_new.append(info.key)
        else:
            entry: dict[str, Any] = {"file": name, "id": outcome.sample_ids[0] if outcome.sample_ids else None}
            if len(outcome.sample_ids) > 1:
                entry["count"] = len(outcome.sample_ids)
            if outcome.note:
                entry["note"] = outcome.note
            accepted.append(entry)
    # A refused file is not kept in the input path, whatever happened to the others: the
    # next sync would otherwise find it and report it again as the user's leftover.
    _forget_new(sync, refused_new)
    if not accepted:
        if any(i.key in registered for i in infos):
            dataset_storage_refresh(dataset=dataset)  # re-uploaded objects did change
        raise UploadRejected(rejected)
    dataset_storage_refresh(dataset=dataset)
    return {"accepted": accepted, "rejected": rejected}


def _forget_new(sync: DatasetSync, keys: list[str]) -> None:
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

"""Export jobs: a version (or the current labels) in one format, into a storage folder or
a zip written to ``<output>/exports/<job-id>.zip``."""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import uuid
import zipfile
from typing import Any

from django.db import transaction

from datasets.export.base import ExportFile
from datasets.export.coco import coco_files
from datasets.export.folders import folder_files, text_files
from datasets.export.voc import voc_files
from datasets.export.yolo import yolo_files
from datasets.models import Dataset, DatasetVersion
from datasets.versioning import (
    freeze_samples,
    has_frozen_samples,
    item_manifest_line,
    items_of_version,
    manifest_name,
)
from exeml.errors import ApplicationError, NotFound, public_reason
from exeml.jobs.models import Job, JobStatus
from exeml.jobs.services import (
    CANCELLABLE_KINDS,
    JOB_STOPPED,
    job_checkpoint,
    job_create,
    job_heartbeat,
    job_progress,
    job_transition,
)
from exeml.queues import Queue
from exeml.storage import (
    StorageError,
    StoragePath,
    StoragePathError,
    TransientStorageError,
    ensure_within_roots,
    parse_storage_path,
    store_for_tenant,
)
from exeml.task_types import TaskType

log = logging.getLogger(__name__)

EXPORT_JOB_KIND = "dataset_export"
CANCELLABLE_KINDS.add(EXPORT_JOB_KIND)  # runs under job_heartbeat, which notices a cancel
FORMATS: dict[str, set[str]] = {
    TaskType.OBJECT_DETECTION: {"voc", "coco", "yolo", "manifest"},
    TaskType.IMAGE_CLASSIFICATION: {"folders", "manifest"},
    TaskType.SOUND_CLASSIFICATION: {"folders", "manifest"},
    TaskType.TEXT_CLASSIFICATION: {"folders", "manifest"},
    TaskType.PREDICTIVE_ANALYTICS: {"manifest"},
}


def dataset_export_start(
    *,
    dataset: Dataset,
    fmt: str,
    target: str = "zip",
    version_id: uuid.UUID | str | None = None,
    path: str | None = None,
    user=None,
) -> Job:
    """Validate, create the job and enqueue ``datasets.export`` after the commit."""
    allowed = FORMATS.get(dataset.task_type, set())
    if fmt not in allowed:
        raise ApplicationError(
            f"{TaskType(dataset.task_type).label} exports as {', '.join(sorted(allowed))}", field="format"
        )
    if target not in ("zip", "storage"):
        raise ApplicationError("target is zip or storage", field="target")
    version = None
    if version_id:
        version = DatasetVersion.objects.filter(dataset=dataset, pk=version_id).first()
        if version is None:
            raise NotFound("dataset version not found")
    elif fmt == "manifest" and dataset.task_type in (TaskType.OBJECT_DETECTION, TaskType.PREDICTIVE_ANALYTICS):
        raise ApplicationError("publish a version first; its manifest is what is exported", field="version")
    elif not has_frozen_samples(dataset):  # an EXISTS: the request must not freeze the dataset
        raise ApplicationError("the dataset has no labelled samples to export", field="version")
    dest = None
    if target == "storage":
        if not path:
            raise ApplicationError("a storage folder is required for target storage", field="path")
        try:
            dest = str(ensure_within_roots(path, dataset.tenant.storage_roots).as_folder())
        except StoragePathError as exc:
            raise ApplicationError(exc.reason, field="path")
    job = job_create(
        kind=EXPORT_JOB_KIND,
        params={"dataset": str(dataset.pk), "version": str(version.pk) if version else None, "format": fmt,
                "target": target, "path": dest},
        target_type="dataset",
        target_id=dataset.pk,
        user=user,
    )
    from datasets.tasks import dataset_export

    tenant_id = str(dataset.tenant_id)
    transaction.on_commit(
        lambda: dataset_export.apply_async(args=[str(job.pk), tenant_id], queue=Queue.DEFAULT.value)
    )
    return job


def build_export_files(*, dataset: Dataset, fmt: str, version: DatasetVersion | None) -> list[ExportFile]:
    """The files of an export (pure apart from reading rows and the version's manifest)."""
    items = items_of_version(version) if version else freeze_samples(dataset)
    task = dataset.task_type
    if fmt == "manifest":
        return [_manifest_file(dataset, version, items)]
    names = sorted({lb for it in items for lb in it.labels})
    if fmt == "voc":
        return voc_files(items)
    if fmt == "coco":
        return coco_files(items, names)
    if fmt == "yolo":
        return yolo_files(items, names)
    if fmt == "folders":
        return text_files(items) if task == TaskType.TEXT_CLASSIFICATION else folder_files(items)
    raise ApplicationError(f"unknown format {fmt!r}", field="format")


def _manifest_file(dataset: Dataset, version: DatasetVersion | None, items) -> ExportFile:
    if version is not None:
        path = parse_storage_path(version.manifest_path)
        return ExportFile(path.name, source=version.manifest_path)
    lines = [item_manifest_line(dataset.task_type, it) for it in items]
    return ExportFile(manifest_name(dataset, "current"), ("\n".join(lines) + "\n").encode())


def dataset_export_run(*, job_id: uuid.UUID | str) -> None:
    """Run an export job; failures other than transient storage errors mark it failed."""
    job = Job.objects.get(pk=job_id)
    if job.status in (JobStatus.SUCCEEDED, JobStatus.CANCELLED):
        return
    if job.status != JobStatus.RUNNING:
        job = job_transition(job_id=job.pk, status=JobStatus.RUNNING)
    try:
        with job_heartbeat(job.pk):
            result = _run(job)
    except JOB_STOPPED:
        return  # cancelled or stalled: the heartbeat recorded it
    except TransientStorageError:
        raise
    except Exception as exc:  # noqa: BLE001 - the job row carries the reason
        log.exception("export %s failed", job.pk)
        reason = public_reason(exc)
        job_transition(job_id=job.pk, status=JobStatus.FAILED, detail=reason)
        return
    job.refresh_from_db()
    job_progress(job=job, progress=1.0, result=result)
    job_transition(job_id=job.pk, status=JobStatus.SUCCEEDED)


def _run(job: Job) -> dict[str, Any]:
    p = job.params
    dataset = Dataset.objects.get(pk=p["dataset"])
    version = DatasetVersion.objects.get(pk=p["version"]) if p.get("version") else None
    files = build_export_files(dataset=dataset, fmt=p["format"], version=version)
    store = store_for_tenant(dataset.tenant)
    if p["target"] == "storage":
        dest = parse_storage_path(p["path"])
        _write_folder(job, store, files, dest)
        return {"path": str(dest), "files": len(files)}
    output = parse_storage_path(dataset.output_path).as_folder()
    zip_path = output.join(f"exports/{job.pk}.zip")
    size = _write_zip(job, store, files, zip_path)
    return {"zip": str(zip_path), "files": len(files), "bytes": size}


def _progress(job: Job, done: int, total: int) -> None:
    if done % 50 == 0 or done == total:
        job_progress(job=job, progress=0.95 * done / max(total, 1), counts={"files": done, "total": total})


def _write_folder(job: Job, store, files: list[ExportFile], dest: StoragePath) -> None:
    for n, f in enumerate(files, start=1):
        job_checkpoint()
        target = dest.join(f.path)
        if f.source is not None:
            src = parse_storage_path(f.source)
            store.copy(src.bucket, src.key, target.bucket, target.key)
        else:
            store.put(target.bucket, target.key, f.data or b"")
        _progress(job, n, len(files))


def _write_zip(job: Job, store, files: list[ExportFile], zip_path: StoragePath) -> int:
    fd, tmp = tempfile.mkstemp(prefix="exeml-export-", suffix=".zip")
    os.close(fd)
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as zf:
            for n, f in enumerate(files, start=1):
                job_checkpoint()
                with zf.open(f.path, "w", force_zip64=True) as out:
                    if f.source is not None:
                        src = parse_storage_path(f.source)
                        with store.open(src.bucket, src.key) as fh:
                            shutil.copyfileobj(fh, out, 1024 * 1024)
                    else:
                        out.write(f.data or b"")
                _progress(job, n, len(files))
        with open(tmp, "rb") as fh:
            store.put(zip_path.bucket, zip_path.key, fh, content_type="application/zip")
        return os.path.getsize(tmp)
    finally:
        os.unlink(tmp)


def dataset_export_zip(*, dataset: Dataset, job_id: Any) -> tuple[Any, str]:
    """The zip an export job of ``dataset`` wrote, opened for streaming, and its file name:
    404 for another dataset's (or tenant's) job, 409 while it has no zip, 404 when the file
    is gone from storage."""
    job = Job.objects.filter(pk=job_id, kind=EXPORT_JOB_KIND, target_type="dataset", target_id=dataset.pk).first()
    if job is None:
        raise NotFound("no such export job of this dataset")
    zip_uri = (job.result or {}).get("zip")
    if job.status != JobStatus.SUCCEEDED or not zip_uri:
        raise ApplicationError("the export has no zip to download (yet)", code="wrong_state", status=409,
                               extra={"status": job.status})
    path = parse_storage_path(zip_uri)
    try:
        return store_for_tenant(dataset.tenant).open(path.bucket, path.key), path.name
    except StorageError:
        raise ApplicationError("the export file is gone from storage", code="not_found", status=404) from None

"""Dataset writes: create, delete, synchronize, delete samples."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from datasets import validation
from datasets.formats import FormatError
from datasets.importing.table import profile_object, profile_to_json
from datasets.labels import labels_ensure
from datasets.models import Dataset, ObjectStatus, Sample, SourceObject
from datasets.sync import DatasetSync
from exeml.dbutil import delete_in_batches
from exeml.errors import ApplicationError, WrongState, public_reason
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
from exeml.storage import StorageError, TransientStorageError, parse_storage_path, store_for_tenant
from exeml.task_types import TaskType

log = logging.getLogger(__name__)

SYNC_JOB_KIND = "dataset_sync"


def dataset_create(
    *,
    tenant,
    name: Any,
    task_type: str,
    input_path: Any = None,
    output_path: Any = None,
    labels: Any = None,
    csv_path: Any = None,
    description: str = "",
    user=None,
    start_sync: bool = True,
    field_prefix: str = "",
    csv_field: str = "csv_path",
) -> Dataset:
    """Validate and create a dataset; optionally enqueue its first synchronization.

    Predictive analytics takes ``csv_path`` (its input path becomes the CSV's folder) and an
    optional ``output_path`` (default ``<tenant root>exeml-output/<name>/``).
    """
    if task_type not in TaskType.values:
        raise ApplicationError(f"unknown type {task_type!r}", field=field_prefix + "type")
    name = validation.check_dataset_name(name, field=field_prefix + "name")
    if Dataset.objects.filter(name=name).exists():
        raise ApplicationError(f"a dataset named {name!r} already exists", field=field_prefix + "name")
    clean_labels = validation.clean_labels(task_type=task_type, labels=labels, field=field_prefix + "labels")
    if task_type == TaskType.PREDICTIVE_ANALYTICS:
        csv = validation.clean_csv_path(tenant=tenant, path=csv_path, field=csv_field)
        inp = csv.parent
        if output_path in (None, ""):
            output_path = f"{tenant.default_root}exeml-output/{name}/"
        out = validation.clean_folder(tenant=tenant, path=output_path, field=field_prefix + "output_path")
        # Only the CSV itself is read, so the one rule is: not the CSV's own folder.
        if str(out) == str(inp):
            raise ApplicationError("the output path must not be the CSV's folder", field=field_prefix + "output_path")
    else:
        csv = None
        inp = validation.clean_folder(tenant=tenant, path=input_path, field=field_prefix + "input_path")
        out = validation.clean_folder(tenant=tenant, path=output_path, field=field_prefix + "output_path")
        validation.check_output_path(input_path=inp, output_path=out, field=field_prefix + "output_path")
    with transaction.atomic():
        dataset = Dataset.objects.create(
            tenant=tenant, name=name, description=description or "", task_type=task_type,
            input_path=str(inp), output_path=str(out), csv_path=str(csv) if csv else "",
        )
        labels_ensure(
            dataset=dataset, names=[lb["name"] for lb in clean_labels],
            colors={lb["name"]: lb["color"] for lb in clean_labels},
        )
        if start_sync:
            dataset_sync_start(dataset=dataset, user=user)
    return dataset


DELETE_JOB_KIND = "dataset_delete"
# Run under job_heartbeat, which notices a cancel; a cancelled delete keeps what it deleted.
CANCELLABLE_KINDS.update({SYNC_JOB_KIND, DELETE_JOB_KIND})


def dataset_delete(*, dataset: Dataset, user=None) -> Job | None:
    """Delete the dataset's rows; the files in storage are kept.

    A small dataset goes now; a large one (more samples than one batch) is deleted by a
    job, batch by batch, so no transaction holds the database for long: the job is returned.
    """
    from datasets.tasks import dataset_delete_task

    used_by = list(dataset.projects.values_list("name", flat=True)[:3])
    if used_by:
        raise WrongState(f"the dataset is used by project(s) {', '.join(used_by)}", status_value="in_use")
    active = Job.objects.filter(
        kind=DELETE_JOB_KIND, target_id=dataset.pk, status__in=[JobStatus.QUEUED, JobStatus.RUNNING]
    ).first()
    if active is not None and not _is_stale(active):
        raise WrongState("the dataset is already being deleted", status_value="deleting")
    if not Sample.objects.filter(dataset=dataset)[: settings.EXEML_IMPORT_BATCH_ROWS + 1].count() > (
        settings.EXEML_IMPORT_BATCH_ROWS
    ):
        _delete_in_batches(dataset=dataset)
        return None
    job = job_create(kind=DELETE_JOB_KIND, target_type="dataset", target_id=dataset.pk, user=user)
    tenant_id = str(dataset.tenant_id)
    transaction.on_commit(
        lambda: dataset_delete_task.apply_async(args=[str(job.pk), tenant_id], queue=Queue.DEFAULT.value)
    )
    return job


def dataset_delete_run(*, job_id: uuid.UUID | str) -> Job:
    """The body of the delete task: batches of samples, then the rest, then the dataset."""
    job = Job.objects.get(pk=job_id)
    if job.status in (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED):
        return job
    job = job_transition(job_id=job.pk, status=JobStatus.RUNNING)
    dataset = Dataset.objects.filter(pk=job.target_id).first()
    if dataset is not None:
        try:
            with job_heartbeat(job.pk):
                _delete_in_batches(dataset=dataset, job=job)
        except JOB_STOPPED:
            return Job.objects.get(pk=job.pk)  # cancelled: what was deleted stays deleted
    return job_transition(job_id=job.pk, status=JobStatus.SUCCEEDED)


def _delete_in_batches(*, dataset: Dataset, job: Job | None = None) -> None:
    from datasets.models import DatasetVersionItem

    total = Sample.objects.filter(dataset=dataset).count() or 1
    done = 0
    for rows in (
        DatasetVersionItem.objects.filter(version__dataset=dataset),
        Sample.objects.filter(dataset=dataset),
        SourceObject.objects.filter(dataset=dataset),
    ):
        # Each batch is its own short transaction (its cascades, e.g. annotations, with it).
        for deleted in delete_in_batches(rows):
            if job is not None:
                job_checkpoint()
            if job is not None and rows.model is Sample:
                done += deleted
                job_progress(job=job, progress=min(0.99, done / total), counts={"deleted_samples": done})
    dataset.delete()


# ---------------------------------------------------------------------------- synchronize


def dataset_sync_start(*, dataset: Dataset, user=None) -> Job:
    """Create a sync job and enqueue it on commit (409 when one is already queued or running)."""
    from datasets.tasks import dataset_sync_task

    last = dataset.last_sync_job
    if last is not None and last.status in (JobStatus.QUEUED, JobStatus.RUNNING):
        if not _is_stale(last):
            raise WrongState("a synchronization of this dataset is already in progress", status_value=last.status)
        # Its worker died (or its message was lost): the pages it did are kept; start over.
        job_transition(job_id=last.pk, status=JobStatus.FAILED, detail="the worker stopped answering")
    job = job_create(kind=SYNC_JOB_KIND, target_type="dataset", target_id=dataset.pk, user=user)
    Dataset.objects.filter(pk=dataset.pk).update(last_sync_job=job)
    dataset.last_sync_job = job
    tenant_id = str(dataset.tenant_id)
    transaction.on_commit(
        lambda: dataset_sync_task.apply_async(args=[str(job.pk), tenant_id], queue=Queue.DEFAULT.value)
    )
    return job


def _is_stale(job: Job) -> bool:
    timeout = timedelta(seconds=settings.EXEML_HEARTBEAT_TIMEOUT_SECONDS)
    if job.status == JobStatus.RUNNING:
        return (job.heartbeat_at or job.created_at) < timezone.now() - timeout
    return job.created_at < timezone.now() - 10 * timeout  # queued behind other default-queue work


def dataset_sync_run(*, job_id: uuid.UUID | str) -> Job:
    """The body of the sync task: run the job's synchronization and record the outcome.

    TransientStorageError propagates so the task retries; the pages done are kept.
    """
    job = Job.objects.get(pk=job_id)
    if job.status in (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED):
        return job
    dataset = Dataset.objects.select_related("tenant").get(pk=job.target_id)
    if job.status != JobStatus.RUNNING:  # a retry finds it running
        job = job_transition(job_id=job.pk, status=JobStatus.RUNNING)
    try:
        with job_heartbeat(job.pk):
            counts = DatasetSync(dataset=dataset, job=job).run()
    except JOB_STOPPED:
        return Job.objects.get(pk=job.pk)  # cancelled or stalled: the heartbeat recorded it; pages done are kept
    except TransientStorageError:
        raise  # the task retries; the pages done are kept
    except Exception as exc:
        log.exception("dataset sync %s failed", job.pk)
        return job_transition(job_id=job.pk, status=JobStatus.FAILED,
                              detail=f"synchronization failed: {public_reason(exc)}")
    job = job_transition(job_id=job.pk, status=JobStatus.SUCCEEDED)
    log.info("dataset sync %s done: %s", job.pk, counts)
    return job


def dataset_sync(*, dataset: Dataset, user=None) -> Job:
    """Synchronize now, in this process (demo data, bench, shells): no broker involved."""
    job = job_create(kind=SYNC_JOB_KIND, target_type="dataset", target_id=dataset.pk, user=user)
    Dataset.objects.filter(pk=dataset.pk).update(last_sync_job=job)
    return dataset_sync_run(job_id=job.pk)


# ---------------------------------------------------------------------------- samples


def samples_delete(*, dataset: Dataset, ids: Iterable[Any], delete_source: bool = False) -> dict[str, int]:
    """Delete samples (irrecoverable). Source files are kept unless ``delete_source``.

    A kept file stays registered as unchanged, so the next sync does not bring the sample back.
    A text file is deleted only when none of its lines remain.
    """
    samples = list(Sample.objects.filter(dataset=dataset, pk__in=list(ids)).select_related("source_object"))
    objects = {s.source_object_id: s.source_object for s in samples if s.source_object_id}
    with transaction.atomic():
        deleted = Sample.objects.filter(pk__in=[s.pk for s in samples]).delete()[1].get("datasets.Sample", 0)
        removed_files = 0
        if delete_source and objects:
            still_used = set(
                Sample.objects.filter(source_object_id__in=list(objects)).values_list("source_object_id", flat=True)
            )
            gone = [so for pk, so in objects.items() if pk not in still_used]
            bucket = parse_storage_path(dataset.input_path).bucket
            store_for_tenant(dataset.tenant).delete_many(bucket, [so.key for so in gone])
            SourceObject.objects.filter(pk__in=[so.pk for so in gone]).delete()
            removed_files = len(gone)
            dataset_storage_refresh(dataset=dataset)
    return {"deleted": deleted, "files_deleted": removed_files}


def dataset_storage_refresh(*, dataset: Dataset) -> int:
    total = (
        SourceObject.objects.filter(dataset=dataset).exclude(status=ObjectStatus.MISSING)
        .aggregate(total=Sum("size"))["total"] or 0
    )
    Dataset.objects.filter(pk=dataset.pk).update(storage_bytes=total)
    dataset.storage_bytes = total
    return total


# ---------------------------------------------------------------------------- CSV settings


def table_state(dataset: Dataset) -> tuple[str, str]:
    """Why a predictive-analytics dataset has no usable profile, as (state, reason):
    ("ready", "") once profiled; else "no_csv", "syncing", "csv_invalid" or "not_synced"
    with what to do, so the console can offer the action that fixes it."""
    if dataset.table_profile and "columns" in dataset.table_profile:
        return "ready", ""
    if not dataset.csv_path:
        return "no_csv", "the dataset has no CSV file; upload a CSV or choose one in storage"
    job = dataset.last_sync_job
    if job is not None and job.status in (JobStatus.QUEUED, JobStatus.RUNNING):
        return "syncing", "the CSV is being synchronized; wait for it to finish"
    so = SourceObject.objects.filter(dataset=dataset, status=ObjectStatus.INVALID).order_by("-seen_at").first()
    if so is not None and so.reason:
        return "csv_invalid", f"the CSV cannot be used: {so.reason}; fix the file (or upload a new CSV) and synchronize"
    if job is not None and job.status == JobStatus.SUCCEEDED:
        # Refused before it could be read (no file at the path): the sync named it, not a row.
        reason = next((e.get("reason") for e in job.errors if isinstance(e, dict) and e.get("reason")), None)
        if reason:
            return "csv_invalid", f"the CSV cannot be used: {reason}; upload a new CSV and synchronize"
    if job is not None and job.status == JobStatus.FAILED:
        return "not_synced", f"the last synchronization failed: {job.detail or 'no reason given'}; synchronize again"
    return "not_synced", "the CSV has not been profiled yet; synchronize the dataset"


def dataset_table_settings(*, dataset: Dataset, has_header: bool | None, user=None) -> Job | None:
    """Set (True/False) or clear (None: detect) the user's override of header detection.

    The CSV is re-profiled at once with the choice: when it cannot be used so, a 400 names
    the reason and nothing changes. Otherwise the new profile is stored and, when the last
    sync had refused the file, a sync is started so its sample and status follow (returned).
    """
    if dataset.task_type != TaskType.PREDICTIVE_ANALYTICS:
        raise ApplicationError("only predictive analytics datasets have table settings", field="has_header")
    if not dataset.csv_path:
        raise ApplicationError("the dataset has no CSV file", field="has_header")
    path = parse_storage_path(dataset.csv_path)
    store = store_for_tenant(dataset.tenant)
    try:
        info = store.head(path.bucket, path.key)
        profile = profile_object(store, path.bucket, info, has_header=has_header)
    except FormatError as exc:
        choice = {True: "with a header row", False: "without a header row", None: "as detected"}[has_header]
        raise ApplicationError(f"read {choice}, the CSV cannot be used: {exc.reason}", field="has_header")
    except StorageError as exc:
        raise ApplicationError(f"the CSV file cannot be read: {public_reason(exc)}", field="has_header")
    with transaction.atomic():
        locked = Dataset.objects.select_for_update().get(pk=dataset.pk)
        locked.csv_has_header = has_header
        locked.table_profile = profile_to_json(profile)
        locked.save(update_fields=["csv_has_header", "table_profile"])
        dataset.csv_has_header, dataset.table_profile = locked.csv_has_header, locked.table_profile
        so = SourceObject.objects.filter(dataset=dataset, key=path.key).first()
        if so is not None and so.status == ObjectStatus.IMPORTED and so.etag == info.etag:
            return None
        if so is not None:  # the next sync must re-read the file (an unchanged etag is skipped)
            SourceObject.objects.filter(pk=so.pk).update(etag="")
        try:
            return dataset_sync_start(dataset=dataset, user=user)
        except WrongState:
            return None  # one is running; the next sync applies the choice

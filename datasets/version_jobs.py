"""Dataset versions as jobs: a large publish answers 202 with a ``dataset_version`` job at once,
and a worker freezes, splits and writes the manifest, with progress by samples written.

The rule (``EXEML_VERSION_INLINE_MAX_SAMPLES``, read from the trigger-kept counter, no row
counted): a dataset of at most that many labelled samples (a tenth of it for detection, which
writes a VOC file per sample) is published within the request and answered 201 with the
version, as before; predictive analytics (one CSV read, one manifest line) always is. Anything
larger is a job.

All or nothing: the version and its items are written in one transaction, which also marks
the job succeeded (the job row is locked and read there: a cancel that came first rolls the
version back, one that comes later finds the job ended). A cancelled or failed job leaves no
version row and removes every file it put (``dataset_version_publish`` undoes them).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from datasets.models import Dataset, DatasetCounter, DatasetVersion
from datasets.versioning import (
    PublishHooks,
    dataset_version_publish,
    has_frozen_samples,
    version_params_check,
)
from exeml.errors import ApplicationError, WrongState, public_reason
from exeml.jobs.models import Job, JobStatus
from exeml.jobs.services import (
    CANCELLABLE_KINDS,
    JOB_STOPPED,
    JobCancelled,
    job_checkpoint,
    job_create,
    job_heartbeat,
    job_transition,
)
from exeml.jobs.slowdown import cancellable_sleep, delay_for_tests
from exeml.queues import Queue
from exeml.task_types import TaskType
from exeml.tenancy.scoping import unscoped

log = logging.getLogger(__name__)

VERSION_JOB_KIND = "dataset_version"
CANCELLABLE_KINDS.add(VERSION_JOB_KIND)  # runs under job_heartbeat, and checks between batches
# Progress is written at most this often (a batch of 1,000 samples takes a fraction of a second).
PROGRESS_EVERY_SECONDS = 0.5
_DONE = (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED)


def sample_delay_key_for_tests(dataset_id: Any) -> str:
    """The shared-cache key a test sets to slow this dataset's version jobs (seconds per sample)."""
    return f"exeml-test:version-sample-delay:{dataset_id}"


def version_runs_inline(dataset: Dataset) -> bool:
    """Whether a version of ``dataset`` is published within the request (see the module doc)."""
    if dataset.task_type == TaskType.PREDICTIVE_ANALYTICS:
        return True
    limit = int(settings.EXEML_VERSION_INLINE_MAX_SAMPLES)
    if dataset.task_type == TaskType.OBJECT_DETECTION:
        limit //= 10
    labeled = DatasetCounter.objects.filter(dataset=dataset).values_list("labeled", flat=True).first() or 0
    return labeled <= limit


def dataset_version_create(
    *,
    dataset: Dataset,
    train_ratio: Any = 0.8,
    name: str | None = None,
    seed: Any = 0,
    user=None,
    label_column: str | None = None,
    label_type: str | None = None,
) -> DatasetVersion | Job:
    """Publish a version now (small datasets) or start the job that publishes it.

    Every check a request can make is made here (400 naming the field) before a job exists:
    the ratio, seed, name (format and clash), output path, and that something is labelled."""
    if version_runs_inline(dataset):
        return dataset_version_publish(
            dataset=dataset, train_ratio=train_ratio, name=name, seed=seed, user=user,
            label_column=label_column, label_type=label_type,
        )
    ratio, seed_value, checked_name = version_params_check(dataset=dataset, train_ratio=train_ratio, seed=seed,
                                                           name=name)
    if not has_frozen_samples(dataset):  # an EXISTS: the request must not freeze the dataset
        raise ApplicationError("the dataset has no labelled samples to publish")
    labeled = DatasetCounter.objects.filter(dataset=dataset).values_list("labeled", flat=True).first() or 0
    job = job_create(
        kind=VERSION_JOB_KIND, target_type="dataset", target_id=dataset.pk, user=user,
        params={"dataset": str(dataset.pk), "train_ratio": ratio, "seed": seed_value, "name": checked_name},
    )
    job.counts = {"samples": labeled, "samples_written": 0}
    job.save(update_fields=["counts"])
    from datasets.tasks import dataset_version_task

    tenant_id = str(dataset.tenant_id)
    transaction.on_commit(
        lambda: dataset_version_task.apply_async(args=[str(job.pk), tenant_id], queue=Queue.DEFAULT.value)
    )
    return job


def dataset_version_run(*, job_id: uuid.UUID | str) -> Job:
    """The body of the version task: publish, and end the job with the version (or why not)."""
    job = Job.objects.get(pk=job_id)
    if job.status in _DONE:
        return job
    dataset = Dataset.objects.select_related("tenant").filter(pk=job.target_id).first()
    if dataset is None:
        return _end(job, JobStatus.FAILED, "the dataset was deleted before its version was published")
    if job.status != JobStatus.RUNNING:
        job = job_transition(job_id=job.pk, status=JobStatus.RUNNING)
    run = _VersionRun(dataset=dataset, job=job)
    p = job.params
    try:
        with job_heartbeat(job.pk):
            dataset_version_publish(
                dataset=dataset, train_ratio=p["train_ratio"], seed=p["seed"], name=p.get("name"),
                user=job.created_by, hooks=run.hooks(),
            )
    except JOB_STOPPED:
        # Cancelled, or storage stalled (the heartbeat recorded it); the transaction rolled
        # back and the publish removed its files. A job that ended succeeded in the same
        # moment (the heartbeat saw it end) stays succeeded.
        return Job.objects.get(pk=job.pk)
    except ApplicationError as exc:
        return _end(job, JobStatus.FAILED, exc.message)
    except Exception as exc:
        log.exception("version job %s failed", job.pk)
        return _end(job, JobStatus.FAILED, f"the version was not published: {public_reason(exc)}")
    return Job.objects.get(pk=job.pk)  # succeeded in the publish's own transaction


def _end(job: Job, status: str, detail: str | None) -> Job:
    try:
        return job_transition(job_id=job.pk, status=status, detail=detail)
    except WrongState:
        return Job.objects.get(pk=job.pk)  # ended meanwhile (a cancel, the reaper)


class _VersionRun:
    def __init__(self, *, dataset: Dataset, job: Job) -> None:
        self.dataset, self.job = dataset, job
        self.started = time.monotonic()
        self.last_write = 0.0
        self.delay = delay_for_tests(sample_delay_key_for_tests(self.dataset.pk))

    def hooks(self) -> PublishHooks:
        return PublishHooks(progress=self.progress, checkpoint=job_checkpoint, before_commit=self.before_commit)

    def progress(self, written: int, total: int) -> None:
        if self.delay:
            cancellable_sleep(self.delay * (written - self.job.counts.get("samples_written", 0)))
        fraction = written / total if total else 1.0
        now = time.monotonic()
        self.job.counts = {**self.job.counts, "samples_written": written, "samples": total}
        if now - self.last_write < PROGRESS_EVERY_SECONDS and written < total:
            return
        self.last_write = now
        elapsed = now - self.started
        eta = round(elapsed / fraction * (1 - fraction)) if fraction >= 0.01 else None
        # The publish runs in one transaction: a progress written on its connection would show
        # only at its commit. It goes through a connection of its own (a short thread).
        _write_outside(self.job.pk, progress=min(0.99, fraction), counts={**self.job.counts, "eta_seconds": eta})

    def before_commit(self, version: DatasetVersion) -> None:
        """In the publish's transaction: the job ends succeeded with the version, or (cancelled,
        ended by the reaper) the version is rolled back."""
        job = Job.objects.select_for_update().get(pk=self.job.pk)
        if job.status != JobStatus.RUNNING or job.cancel_requested:
            raise JobCancelled("cancelled by the user" if job.cancel_requested else "the job already ended")
        job.result = {"version": str(version.pk), "name": version.name}
        job.counts = {**job.counts, **self.job.counts, "eta_seconds": 0,
                      "train": version.counts.get("train", 0), "eval": version.counts.get("eval", 0)}
        job.save(update_fields=["result", "counts"])
        job_transition(job_id=job.pk, status=JobStatus.SUCCEEDED, detail="")


def _write_outside(job_id: Any, *, progress: float, counts: dict[str, Any]) -> None:
    if connection.vendor == "sqlite":
        return  # one writer at a time: a second connection would wait for the publish's commit

    def write() -> None:
        try:
            with unscoped():  # a thread: no tenant scope of its own
                Job.all_tenants.filter(pk=job_id, status=JobStatus.RUNNING).update(
                    progress=progress, counts=counts, heartbeat_at=timezone.now()
                )
        except Exception:  # noqa: BLE001 - a missed progress write must not fail the publish
            log.warning("could not write the progress of version job %s", job_id, exc_info=True)
        finally:
            connection.close()

    thread = threading.Thread(target=write, name=f"version-progress-{job_id}", daemon=True)
    thread.start()
    thread.join(timeout=30)

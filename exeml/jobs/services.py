"""Job lifecycle: one transition function, progress, per-file errors."""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from exeml.errors import WrongState
from exeml.jobs.models import JOB_TRANSITIONS, MAX_JOB_ERRORS, Job, JobStatus
from exeml.tenancy.scoping import tenant_scope, unscoped

log = logging.getLogger(__name__)


def job_create(
    *, kind: str, params: dict | None = None, target_type: str = "", target_id: uuid.UUID | None = None, user=None
) -> Job:
    return Job.objects.create(
        kind=kind, params=params or {}, target_type=target_type, target_id=target_id, created_by=user
    )


@transaction.atomic
def job_transition(*, job_id: uuid.UUID | str, status: str, detail: str | None = None) -> Job:
    job = Job.objects.select_for_update().get(pk=job_id)
    if status not in JOB_TRANSITIONS[job.status]:
        raise WrongState(f"job cannot go from {job.status} to {status}", status_value=job.status)
    now = timezone.now()
    job.status = status
    if status == JobStatus.RUNNING and job.started_at is None:
        job.started_at = now
    if status in (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED):
        job.finished_at = now
        if status == JobStatus.SUCCEEDED:
            job.progress = 1.0
    if status == JobStatus.QUEUED:
        job.finished_at = None
    if detail is not None:
        job.detail = detail
    job.heartbeat_at = now
    job.save()
    return job


def job_progress(
    *,
    job: Job,
    progress: float | None = None,
    counts: dict[str, int] | None = None,
    new_errors: list[dict[str, Any]] | None = None,
    result: dict | None = None,
) -> None:
    """Persist progress; called by the job itself, so no lock is needed."""
    if progress is not None:
        job.progress = max(0.0, min(1.0, progress))
    if counts:
        job.counts = {**job.counts, **counts}
    if new_errors:
        total = job.counts.get("errors_total", len(job.errors)) + len(new_errors)
        room = MAX_JOB_ERRORS - len(job.errors)
        if room > 0:
            job.errors = [*job.errors, *new_errors[:room]]
        job.counts = {**job.counts, "errors_total": total}
    if result is not None:
        job.result = result
    job.heartbeat_at = timezone.now()
    job.save(update_fields=["progress", "counts", "errors", "result", "heartbeat_at"])


def job_fail_if_active(*, job_id: uuid.UUID | str, reason: str) -> bool:
    """Fail a job that is still queued or running (a task's failure hook, the reaper)."""
    job = Job.objects.filter(pk=job_id).first()
    if job is None or job.status not in (JobStatus.QUEUED, JobStatus.RUNNING):
        return False
    try:
        job_transition(job_id=job.pk, status=JobStatus.FAILED, detail=reason)
    except WrongState:
        return False  # finished meanwhile
    return True


@contextmanager
def job_heartbeat(job_id: uuid.UUID | str, *, every: float | None = None) -> Iterator[None]:
    """Stamp the job's heartbeat from a thread while the body runs (one long page, a big zip).

    The reaper fails a running job whose heartbeat is older than EXEML_HEARTBEAT_TIMEOUT_SECONDS:
    the process running it has died.
    """
    every = every or max(1.0, settings.EXEML_HEARTBEAT_TIMEOUT_SECONDS / 4)
    done = threading.Event()

    def beat() -> None:
        try:
            while not done.wait(every):
                with unscoped():  # a thread: no tenant scope of its own
                    Job.all_tenants.filter(pk=job_id, status=JobStatus.RUNNING).update(heartbeat_at=timezone.now())
        except Exception:  # noqa: BLE001 - a missed heartbeat must not kill the job
            log.warning("heartbeat of job %s failed", job_id, exc_info=True)
        finally:
            connection.close()

    thread = threading.Thread(target=beat, name=f"job-heartbeat-{job_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join(timeout=every + 5)


def reap_jobs(*, now=None, workers_busy: bool = False) -> list[uuid.UUID]:
    """Beat, all tenants: no job stays queued or running after its worker or message is gone.

    A running job whose heartbeat stopped is failed. A queued job that no worker took while
    the workers were idle (``workers_busy`` False) for five heartbeat timeouts had its message
    lost (or no worker runs): it is failed with the reason, and can be started again. Jobs are
    not sent again: a late original and a copy could run the same job twice.
    """
    now = now or timezone.now()
    timeout = timedelta(seconds=settings.EXEML_HEARTBEAT_TIMEOUT_SECONDS)
    patience = max(timedelta(seconds=2 * settings.CELERY_BEAT_INTERVAL_SECONDS), 5 * timeout)
    with unscoped():
        dead = list(Job.all_tenants.filter(status=JobStatus.RUNNING, heartbeat_at__lt=now - timeout)
                    .values_list("pk", "tenant_id", "heartbeat_at"))
        lost = [] if workers_busy else list(
            Job.all_tenants.filter(status=JobStatus.QUEUED, created_at__lt=now - patience)
            .values_list("pk", "tenant_id", "created_at")
        )
    reaped = []
    for pk, tenant_id, heartbeat_at in dead:
        silent = int((now - heartbeat_at).total_seconds())
        with tenant_scope(tenant_id):
            if job_fail_if_active(job_id=pk, reason=f"the worker stopped responding (no heartbeat for {silent} s)"):
                reaped.append(pk)
    for pk, tenant_id, created_at in lost:
        waited = int((now - created_at).total_seconds())
        reason = f"no worker took the job within {waited} s (its message was lost or no worker is running); start it again"
        with tenant_scope(tenant_id):
            if job_fail_if_active(job_id=pk, reason=reason):
                reaped.append(pk)
    return reaped


# Job kinds a user may cancel: their runners check ``job_cancelled`` between batches.
CANCELLABLE_KINDS: set[str] = set()


def job_cancel(*, job_id: uuid.UUID | str) -> Job:
    """Ask a running job to stop (a queued one is cancelled at once); 409 when it already ended."""
    with transaction.atomic():
        job = Job.objects.select_for_update().get(pk=job_id)
        if job.kind not in CANCELLABLE_KINDS:
            raise WrongState(f"a {job.kind} job cannot be cancelled", status_value=job.status)
        if job.status not in (JobStatus.QUEUED, JobStatus.RUNNING):
            raise WrongState(f"the job is already {job.status}", status_value=job.status)
        job.cancel_requested = True
        job.save(update_fields=["cancel_requested"])
    if job.status == JobStatus.QUEUED:
        job = job_transition(job_id=job.pk, status=JobStatus.CANCELLED, detail="cancelled by the user")
    return job


def job_cancelled(job: Job) -> bool:
    """Whether the user asked ``job`` to stop (reads the flag fresh from the database)."""
    return bool(Job.objects.filter(pk=job.pk, cancel_requested=True).exists())

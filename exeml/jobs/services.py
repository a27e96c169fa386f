"""Job lifecycle: one transition function, progress, per-file errors."""

from __future__ import annotations

import uuid
from typing import Any

from django.db import transaction
from django.utils import timezone

from exeml.errors import WrongState
from exeml.jobs.models import JOB_TRANSITIONS, MAX_JOB_ERRORS, Job, JobStatus


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


def job_give_up(*, job_id: uuid.UUID | str, reason: str) -> None:
    """Mark a job failed unless it already finished: its task gave up (retries exhausted, or a
    bug before the service could record the outcome), so nothing else will ever end it."""
    job = Job.objects.filter(pk=job_id).first()
    if job is not None and job.status in (JobStatus.QUEUED, JobStatus.RUNNING):
        job_transition(job_id=job.pk, status=JobStatus.FAILED, detail=reason)


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

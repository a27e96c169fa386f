"""Job lifecycle: one transition function, progress, per-file errors."""

from __future__ import annotations

import contextvars
import logging
import queue
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any, TypeVar

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from exeml.errors import WrongState
from exeml.jobs.models import JOB_TRANSITIONS, MAX_JOB_ERRORS, Job, JobStatus
from exeml.storage import StorageStalled, StorageWatch, TransientStorageError, checkpoint, watching
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


class JobCancelled(Exception):
    """The user cancelled the job (or it ended elsewhere): its runner stops where it is."""


# What ends a job step early; runners let these propagate out of ``job_heartbeat`` (which has
# recorded the outcome) and return without recording anything else.
JOB_STOPPED: tuple[type[BaseException], ...] = (JobCancelled, StorageStalled)

_STOP_POLL_SECONDS = 1.0  # how often the heartbeat thread reads the cancel flag and the storage watch
_CANCEL_GRACE_SECONDS = 3.0  # then it ends the job itself: the body is stuck in a call
WAITING_FOR_STORAGE = "waiting for storage"


def job_checkpoint() -> None:
    """Between batches of a long job step: raise if the job was cancelled or its storage stalled."""
    checkpoint()


T = TypeVar("T")
_WAIT_STEP_SECONDS = 0.5


def job_wait(call: Callable[[], T]) -> T:
    """Run one blocking step of a job (a storage read or write, a bundle download) on a daemon
    thread while this thread waits in short steps and raises at a cancel or a storage stall
    (``job_checkpoint``): a call hung on the storage never keeps the job, nor its worker, from
    stopping. A call left behind ends with its own timeouts, in its thread; it must write no
    database rows (they could land after the job ended).
    """
    box: queue.SimpleQueue[tuple[bool, Any]] = queue.SimpleQueue()

    def run() -> None:
        try:
            box.put((True, call()))
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread
            box.put((False, exc))
        finally:
            connection.close()  # this thread's own connection, if the call opened one

    # A copy of the context: the call's storage calls count in this job's storage watch, under its tenant.
    ctx = contextvars.copy_context()
    threading.Thread(target=ctx.run, args=(run,), name="job-wait", daemon=True).start()
    while True:
        job_checkpoint()
        try:
            ok, value = box.get(timeout=_WAIT_STEP_SECONDS)
        except queue.Empty:
            continue
        if ok:
            return value
        raise value


def _waiting_text(since) -> str:
    return f"{WAITING_FOR_STORAGE} (since {since.isoformat(timespec='seconds')})"


def _job_end_stopped(job_id: uuid.UUID | str, exc: BaseException) -> None:
    """Record why a job step stopped early: cancelled, or failed with the stall reason."""
    job = Job.objects.filter(pk=job_id).first()
    if job is None or job.status not in (JobStatus.QUEUED, JobStatus.RUNNING):
        return
    status = JobStatus.CANCELLED if isinstance(exc, JobCancelled) else JobStatus.FAILED
    try:
        job_transition(job_id=job.pk, status=status, detail=str(exc))
    except WrongState:
        pass  # ended meanwhile


@contextmanager
def job_heartbeat(job_id: uuid.UUID | str, *, every: float | None = None) -> Iterator[StorageWatch]:
    """Watch a job step from a thread: heartbeat, cancel, storage stalls.

    The thread stamps the heartbeat (the reaper fails a running job whose heartbeat is older
    than EXEML_HEARTBEAT_TIMEOUT_SECONDS: the process running it has died). Every second it
    reads the cancel flag and the step's storage watch: a storage call unanswered for a while
    shows as "waiting for storage (since …)" in the job's detail, and past
    EXEML_STORAGE_STALL_SECONDS the job fails with that reason; a cancel stops the step at
    its next storage call or ``job_checkpoint()``. A body stuck in a call is not waited for:
    the thread ends the job itself, and the call's end (bounded by the S3 timeouts) is ignored.
    """
    every = every or max(1.0, settings.EXEML_HEARTBEAT_TIMEOUT_SECONDS / 4)
    poll = min(every, _STOP_POLL_SECONDS)
    stall = float(settings.EXEML_STORAGE_STALL_SECONDS)
    notice = min(10.0, stall / 5)
    with unscoped():
        row = Job.all_tenants.filter(pk=job_id).values_list("tenant_id", "storage_waiting_since").first()
    tenant_id, carried = row if row else (None, None)
    watch = StorageWatch(waiting_since=carried)
    done = threading.Event()

    def watchdog() -> None:
        last_beat = time.monotonic()
        stopped_at: float | None = None
        seen = False
        try:
            while not done.wait(poll):
                with unscoped():  # a thread: no tenant scope of its own
                    row = Job.all_tenants.filter(pk=job_id).values_list("status", "cancel_requested", "detail").first()
                    if row is None and not seen:
                        # Not committed yet: the step runs inside the transaction that created its
                        # job (an inline sync in a shell or a test). Gone is only a row once seen.
                        continue
                    seen = True
                    if row is None or row[0] != JobStatus.RUNNING:
                        watch.stop(JobCancelled("the job already ended"))
                        return
                    _status, cancel, detail = row
                    if cancel:
                        watch.stop(JobCancelled("cancelled by the user"))
                    updates: dict[str, Any] = {}
                    trouble = watch.trouble()
                    if trouble is not None and trouble.seconds >= stall:
                        watch.stop(StorageStalled(f"storage did not answer for {stall:g} s: {trouble.what}"))
                    elif trouble is not None and trouble.seconds >= notice:
                        if detail != _waiting_text(trouble.since):
                            updates.update(detail=_waiting_text(trouble.since), storage_waiting_since=trouble.since)
                    elif detail.startswith(WAITING_FOR_STORAGE):
                        updates.update(detail="", storage_waiting_since=None)
                    if time.monotonic() - last_beat >= every:
                        updates["heartbeat_at"] = timezone.now()
                        last_beat = time.monotonic()
                    if updates:
                        Job.all_tenants.filter(pk=job_id, status=JobStatus.RUNNING).update(**updates)
                stop = watch.stopped
                if stop is not None:
                    stopped_at = stopped_at or time.monotonic()
                    if isinstance(stop, StorageStalled) or time.monotonic() - stopped_at >= _CANCEL_GRACE_SECONDS:
                        with tenant_scope(tenant_id):
                            _job_end_stopped(job_id, stop)
                        return
        except Exception:  # noqa: BLE001 - a missed heartbeat must not kill the job
            log.warning("heartbeat of job %s failed", job_id, exc_info=True)
        finally:
            connection.close()

    thread = threading.Thread(target=watchdog, name=f"job-heartbeat-{job_id}", daemon=True)
    thread.start()
    outcome: BaseException | None = None
    try:
        with watching(watch):
            yield watch
            # The hung call answered after all, but the job was ended meanwhile: it stays ended.
            watch.check()
    except BaseException as exc:
        outcome = exc
        raise
    finally:
        done.set()
        thread.join(timeout=poll + 5)
        try:
            _after_step(job_id, watch, outcome)
        except Exception:  # noqa: BLE001 - the body's own outcome matters more
            log.warning("could not record the end of job %s", job_id, exc_info=True)


def _after_step(job_id: uuid.UUID | str, watch: StorageWatch, outcome: BaseException | None) -> None:
    if isinstance(outcome, JOB_STOPPED):
        _job_end_stopped(job_id, outcome)
    elif isinstance(outcome, TransientStorageError):
        # The task retries: the retry's watch goes on counting from the first failed call.
        since = watch.waiting_since()
        if since is not None:
            Job.objects.filter(pk=job_id, status=JobStatus.RUNNING).update(
                storage_waiting_since=since, detail=_waiting_text(since)
            )
    else:
        Job.objects.filter(pk=job_id, detail__startswith=WAITING_FOR_STORAGE).update(
            detail="", storage_waiting_since=None
        )


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


# Job kinds a user may cancel: their runners run under ``job_heartbeat`` (which notices the
# flag) or check ``job_cancelled`` between batches. Each app adds its kinds.
CANCELLABLE_KINDS: set[str] = set()

# What the app that owns a kind does when a job of that kind is cancelled before its runner
# ran (queued) or after its worker died: the runner is not there to leave its target in a
# clear state (a deploy's service would stay "deploying"). Each app adds its kinds.
ON_CANCELLED: dict[str, Callable[[Job], None]] = {}


def job_cancel(*, job_id: uuid.UUID | str) -> Job:
    """Ask a running job to stop (a queued one is cancelled at once); 409 when it already ended.

    A running job's heartbeat thread sees the flag within about a second and stops the job at
    its next storage call or checkpoint, or ends it itself a few seconds later when the job is
    stuck in a storage call. A running job whose worker is gone (no heartbeat) is cancelled now.
    """
    with transaction.atomic():
        job = Job.objects.select_for_update().get(pk=job_id)
        if job.status not in (JobStatus.QUEUED, JobStatus.RUNNING):
            raise WrongState(f"the job is already {job.status}", status_value=job.status)
        if job.kind not in CANCELLABLE_KINDS:
            raise WrongState(f"a {job.kind} job cannot be cancelled", status_value=job.status)
        job.cancel_requested = True
        job.save(update_fields=["cancel_requested"])
    silent = timedelta(seconds=settings.EXEML_HEARTBEAT_TIMEOUT_SECONDS)
    orphaned = job.status == JobStatus.RUNNING and (job.heartbeat_at or job.created_at) < timezone.now() - silent
    if job.status == JobStatus.QUEUED or orphaned:
        try:
            job = job_transition(job_id=job.pk, status=JobStatus.CANCELLED, detail="cancelled by the user")
        except WrongState:
            job.refresh_from_db()  # ended meanwhile
        else:
            hook = ON_CANCELLED.get(job.kind)
            if hook is not None:
                hook(job)
    return job


def job_cancelled(job: Job) -> bool:
    """Whether the user asked ``job`` to stop (reads the flag fresh from the database)."""
    return bool(Job.objects.filter(pk=job.pk, cancel_requested=True).exists())

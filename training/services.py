"""Training versions: create + enqueue, stop, and reap versions whose worker died."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from exeml.errors import ApplicationError, WrongState
from exeml.jobs.models import Job, JobStatus
from exeml.jobs.services import reap_jobs
from exeml.queues import Queue
from exeml.tenancy.models import Tenant
from exeml.tenancy.scoping import tenant_scope, unscoped
from exeml.tenancy.services import quota_for
from training import preconditions
from training.log_lines import bounded
from training.models import ModelVersion, Preference, VersionStatus
from training.transitions import ACTIVE, version_transition

logger = logging.getLogger(__name__)


def _check_params(*, train_ratio: float, max_minutes: float, preference: str) -> None:
    if not 0 < train_ratio < 1:
        raise ApplicationError("train_ratio must lie strictly between 0 and 1", field="train_ratio")
    low, high = settings.EXEML_MIN_TRAIN_MINUTES, settings.EXEML_MAX_TRAIN_MINUTES
    if not low <= max_minutes <= high:
        raise ApplicationError(f"max_minutes must be between {low:g} and {high:g}", field="max_minutes")
    if preference not in Preference.values:
        raise ApplicationError(f"preference must be one of {', '.join(Preference.values)}", field="preference")


def _resolve_dataset_version(*, project, dataset_version_id):
    from datasets.models import DatasetVersion

    version = DatasetVersion.objects.filter(pk=dataset_version_id, dataset_id=project.dataset_id).first()
    if version is None:
        raise ApplicationError("no such dataset version of this project's dataset", field="dataset_version")
    return version


def _resolve_incremental(*, project, ref: str) -> ModelVersion:
    if project.task_type not in preconditions.INCREMENTAL_TASK_TYPES:
        raise ApplicationError(f"incremental training is not available for {project.task_type}", field="incremental_from")
    base = version_lookup(project=project, ref=ref)
    if base is None or base.status != VersionStatus.COMPLETED or not base.artifact_path:
        raise ApplicationError("incremental training starts from a completed version of this project", field="incremental_from")
    return base


def version_create(
    *,
    project,
    user=None,
    dataset_version_id: uuid.UUID | str | None = None,
    train_ratio: float = 0.8,
    incremental_from: str | None = None,
    max_minutes: float = 60,
    preference: str = Preference.BALANCE,
    flavor: str | None = None,
    refit_on_all: bool = True,
) -> ModelVersion:
    """Check everything, freeze the data (or take the given version), create V00N and enqueue it."""
    from projects.models import Project

    tenant: Tenant = project.tenant
    _check_params(train_ratio=train_ratio, max_minutes=max_minutes, preference=preference)
    flavor_row = preconditions.flavor_resolve(task_type=project.task_type, code=flavor)
    if flavor_row.max_minutes and max_minutes > flavor_row.max_minutes:
        raise ApplicationError(
            f"flavor {flavor_row.name} allows at most {flavor_row.max_minutes} minutes per job", field="max_minutes"
        )
    base = _resolve_incremental(project=project, ref=str(incremental_from)) if incremental_from else None
    dataset_version = (
        _resolve_dataset_version(project=project, dataset_version_id=dataset_version_id)
        if dataset_version_id
        else None
    )
    reasons = preconditions.data_reasons(project=project, dataset_version=dataset_version)
    if reasons:
        raise ApplicationError(reasons[0], code="preconditions", extra={"reasons": reasons})
    preconditions.quota_checks(tenant=tenant)
    _check_project_concurrency(project=project)
    publish_job = None
    if dataset_version is None:
        dataset_version, publish_job = _publish_training_data(project=project, train_ratio=train_ratio, user=user)
    with transaction.atomic():
        # The project row lock serialises numbering and the quota re-check.
        Project.objects.select_for_update().get(pk=project.pk)
        preconditions.quota_checks(tenant=tenant)
        _check_project_concurrency(project=project)
        number = (ModelVersion.objects.filter(project=project).aggregate(n=Max("number"))["n"] or 0) + 1
        version = ModelVersion.objects.create(
            project=project,
            name=f"V{number:03d}",
            number=number,
            dataset_version=dataset_version,
            incremental_from=base,
            flavor=flavor_row,
            queue=flavor_row.queue,
            params={
                "train_ratio": dataset_version.train_ratio if dataset_version_id else train_ratio,
                **({"dataset_version_job": str(publish_job.pk)} if publish_job is not None else {}),
                "max_minutes": max_minutes,
                "preference": preference,
                "flavor": flavor_row.code,
                "incremental_from": base.name if base else None,
                "refit_on_all": bool(refit_on_all),
            },
            created_by=user,
        )
        version_enqueue(version=version)
    return version


def _publish_training_data(*, project, train_ratio: float, user) -> tuple[Any, Job | None]:
    """The dataset version a training without one trains on: published in the request when it
    is small, else by a dataset_version job started now (the request answers at once, the run
    waits for the job: ``training.runner``); so a 100k-sample dataset never holds a web thread."""
    from datasets.version_jobs import dataset_version_create

    published = dataset_version_create(
        dataset=project.dataset, train_ratio=train_ratio, user=user,
        label_column=project.label_column or None, label_type=project.label_type or None,
    )
    return (None, published) if isinstance(published, Job) else (published, None)


def _check_project_concurrency(*, project) -> None:
    """One training per project at a time unless the tenant's quota allows more (409)."""
    allowed = quota_for(project.tenant).max_running_trainings_per_project
    active = ModelVersion.objects.filter(project=project, status__in=ACTIVE).count()
    if active >= allowed:
        raise WrongState(
            f"this project already has {active} training(s) queued or running; the quota allows {allowed} at once",
            status_value="training",
        )


def version_enqueue(*, version: ModelVersion) -> None:
    """Send the run task to the flavor's queue once the row is committed."""
    from training.tasks import run_version

    task_id = str(uuid.uuid4())
    ModelVersion.objects.filter(pk=version.pk).update(celery_task_id=task_id)
    version.celery_task_id = task_id
    args = [str(version.pk), str(version.tenant_id)]
    transaction.on_commit(lambda: run_version.apply_async(args=args, queue=version.queue, task_id=task_id))


def version_lookup(*, project, ref: str) -> ModelVersion | None:
    """A version of ``project`` by UUID or by name (V001, case-insensitive)."""
    qs = ModelVersion.objects.filter(project=project)
    try:
        return qs.filter(pk=uuid.UUID(str(ref))).first()
    except ValueError:
        return qs.filter(name__iexact=str(ref)).first()


def version_stop(*, version: ModelVersion) -> ModelVersion:
    """Queued → stopped now; running → stop_requested (the runner stops within seconds)."""
    with transaction.atomic():
        current = ModelVersion.objects.select_for_update().get(pk=version.pk)
        if current.status == VersionStatus.QUEUED:
            return version_transition(
                version_id=current.pk, status=VersionStatus.STOPPED, log_lines=["stopped before it started"]
            )
        if current.status == VersionStatus.RUNNING:
            current.stop_requested = True
            current.save(update_fields=["stop_requested"])
            return current
    raise WrongState(f"version {current.name} has already finished ({current.status})", status_value=current.status)


def reap_stale_versions(*, now: datetime | None = None) -> list[uuid.UUID]:
    """Fail running versions whose worker stopped sending heartbeats (beat, all tenants)."""
    now = now or timezone.now()
    timeout = settings.EXEML_HEARTBEAT_TIMEOUT_SECONDS
    cutoff = now - timedelta(seconds=timeout)
    with unscoped():
        stale = list(
            ModelVersion.all_tenants.filter(status=VersionStatus.RUNNING, heartbeat_at__lt=cutoff).values_list(
                "pk", "tenant_id", "heartbeat_at"
            )
        )
    reaped = []
    for pk, tenant_id, heartbeat_at in stale:
        silent = int((now - heartbeat_at).total_seconds())
        reason = f"the training worker stopped responding (no heartbeat for {silent} s)"
        with tenant_scope(tenant_id):
            try:
                with transaction.atomic():
                    locked = ModelVersion.objects.select_for_update().get(pk=pk)
                    # A heartbeat that landed since the scan means the worker is alive.
                    if locked.status != VersionStatus.RUNNING or locked.heartbeat_at >= cutoff:
                        continue
                    version_transition(version_id=pk, status=VersionStatus.FAILED, error=reason, log_lines=[reason],
                                       finished_at=locked.heartbeat_at)
            except WrongState:
                continue
        reaped.append(pk)
    return reaped


def reap_lost_trainings(*, now: datetime | None = None) -> list[uuid.UUID]:
    """Beat, every EXEML_WORKER_LOST_CHECK_SECONDS: a running training whose heartbeat (every
    few seconds) has been silent for EXEML_WORKER_LOST_SECONDS lost its worker (kill -9, a
    host gone): it goes back to the queue with the reason, for any worker on its queue, or
    ends failed after EXEML_MAX_TRAINING_RESTARTS. Its own message is of no help: with
    acks_late, Redis hands an unacknowledged message on only after the visibility timeout,
    which must outlast the longest training (a redelivery later finds it taken or finished).
    If the worker was alive after all (a stalled heartbeat), its pulse sees the row leave
    "running" and stops, so the training never runs twice at once."""
    now = now or timezone.now()
    window = settings.EXEML_WORKER_LOST_SECONDS
    cutoff = now - timedelta(seconds=window)
    with unscoped():
        silent_rows = list(
            ModelVersion.all_tenants.filter(status=VersionStatus.RUNNING, heartbeat_at__lt=cutoff).values_list(
                "pk", "tenant_id", "heartbeat_at", "worker"
            )
        )
    handed = []
    for pk, tenant_id, heartbeat_at, worker in silent_rows:
        silent = int((now - heartbeat_at).total_seconds())
        reason = f"its worker {worker or '?'} was lost (no heartbeat for {silent} s)"
        with tenant_scope(tenant_id):
            try:
                with transaction.atomic():
                    locked = ModelVersion.objects.select_for_update().get(pk=pk)
                    if locked.status != VersionStatus.RUNNING or locked.heartbeat_at >= cutoff:
                        continue  # finished, or a heartbeat landed since the scan
                    version_hand_back(version_id=pk, reason=reason)
            except WrongState:
                continue
        logger.warning("version %s: %s", pk, reason)
        handed.append(pk)
    return handed


def version_hand_back(*, version_id: uuid.UUID | str, reason: str, enqueue: bool = True) -> ModelVersion:
    """A running version whose worker was stopped goes back to the queue (and is sent again).

    Bounded by EXEML_MAX_TRAINING_RESTARTS, so a training that kills its worker (out of
    memory) ends failed instead of looping.
    """
    with transaction.atomic():
        version = ModelVersion.objects.select_for_update().get(pk=version_id)
        restarts = int(version.params.get("restarts", 0))
        if restarts >= settings.EXEML_MAX_TRAINING_RESTARTS:
            line = f"{reason}; it was restarted {restarts} time(s) already, so it ends here"
            return version_transition(version_id=version.pk, status=VersionStatus.FAILED, error=line, log_lines=[line])
        version = version_transition(
            version_id=version.pk, status=VersionStatus.QUEUED, params={**version.params, "restarts": restarts + 1},
            log_lines=[f"{reason}; back in the queue, it starts again from the beginning"],
        )
        if enqueue:
            version_enqueue(version=version)
    return version


def versions_hand_back(*, reason: str, host: str | None = None) -> int:
    """Running versions whose worker was alive until now (``exeml run`` stopping): those of
    workers on ``host`` only when given, so a host that stops never touches the trainings
    that workers on other hosts of the same database are running."""
    fresh = timezone.now() - timedelta(seconds=settings.EXEML_HEARTBEAT_TIMEOUT_SECONDS)
    with unscoped():
        running = ModelVersion.all_tenants.filter(status=VersionStatus.RUNNING, heartbeat_at__gte=fresh)
        if host is not None:
            running = running.filter(worker__startswith=f"{host}:")  # the runner's host:pid
        rows = list(running.values_list("pk", "tenant_id"))
    for pk, tenant_id in rows:
        with tenant_scope(tenant_id):
            try:
                version_hand_back(version_id=pk, reason=reason)
            except WrongState:
                continue
    return len(rows)


def workers_busy(*, queue: str | None = None) -> bool:
    """Whether a queued item may just be waiting its turn rather than have lost its message.

    The free queue has its own one-slot worker; every other queue shares the main workers
    with the default queue's jobs, so any running training or job there keeps them busy.
    """
    with unscoped():
        if queue == Queue.TRAIN_FREE:
            return ModelVersion.all_tenants.filter(status=VersionStatus.RUNNING, queue=queue).exists()
        return (
            ModelVersion.all_tenants.filter(status=VersionStatus.RUNNING).exclude(queue=Queue.TRAIN_FREE).exists()
            or Job.all_tenants.filter(status=JobStatus.RUNNING).exists()
        )


def reap_lost_queued_versions(*, now: datetime | None = None) -> list[uuid.UUID]:
    """Beat: a version no worker took within two beat intervals while its workers were idle
    had its message lost. It is sent once more (the runner ignores a duplicate), and failed
    with the reason if still queued after five heartbeat timeouts more (a queue may drain
    slowly after a long job: the copy costs nothing, a wrong failure would)."""
    now = now or timezone.now()
    wait = timedelta(seconds=2 * settings.CELERY_BEAT_INTERVAL_SECONDS)
    patience = max(wait, timedelta(seconds=5 * settings.EXEML_HEARTBEAT_TIMEOUT_SECONDS))
    with unscoped():
        queued = list(
            ModelVersion.all_tenants.filter(status=VersionStatus.QUEUED, created_at__lt=now - wait)
            .values_list("pk", "tenant_id", "queue", "heartbeat_at")
        )
    busy: dict[str, bool] = {}
    reaped = []
    for pk, tenant_id, queue, resent_at in queued:
        if queue not in busy:
            busy[queue] = workers_busy(queue=queue)
        if busy[queue]:
            continue
        with tenant_scope(tenant_id):
            if resent_at is None:
                # A queued version's heartbeat marks when its message was sent again.
                version = ModelVersion.objects.filter(pk=pk, status=VersionStatus.QUEUED).first()
                if version is None:
                    continue
                line = f"no worker took the training within {int(wait.total_seconds())} s; sent again"
                ModelVersion.objects.filter(pk=pk, status=VersionStatus.QUEUED).update(
                    heartbeat_at=now, log_tail=bounded([*version.log_tail, line])
                )
                logger.warning("version %s: %s", pk, line)
                version_enqueue(version=version)
            elif resent_at < now - patience:
                waited = int((now - resent_at + wait).total_seconds())
                reason = (f"no worker took the training from queue {queue} within {waited} s "
                          "(its message was lost or no worker serves that queue)")
                try:
                    version_transition(version_id=pk, status=VersionStatus.FAILED, error=reason, log_lines=[reason])
                except WrongState:
                    continue
                reaped.append(pk)
    return reaped


def reap_all(*, now: datetime | None = None) -> dict[str, int]:
    """The beat task's body: dead and lost trainings, dead and lost jobs."""
    return {
        "versions_stale": len(reap_stale_versions(now=now)),
        "versions_lost": len(reap_lost_queued_versions(now=now)),
        "jobs": len(reap_jobs(now=now, workers_busy=workers_busy())),
    }


def active_trainings(tenant: Tenant) -> int:
    with tenant_scope(tenant):
        return ModelVersion.objects.filter(status__in=ACTIVE).count()


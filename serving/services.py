"""Service lifecycle: deploy, start, stop, auto-stop, delete; call accounting.

Statuses change only through ``service_transition`` (row lock + SERVICE_TRANSITIONS), so
a stop racing a deploy's finish can never leave a stopped service marked running.
"""

from __future__ import annotations

import logging
import math
import uuid
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from exeml.dbutil import delete_in_batches
from exeml.errors import ApplicationError, WrongState
from exeml.jobs.models import Job, JobStatus
from exeml.jobs.services import (
    CANCELLABLE_KINDS,
    JOB_STOPPED,
    ON_CANCELLED,
    JobCancelled,
    job_checkpoint,
    job_create,
    job_heartbeat,
    job_transition,
    job_wait,
)
from exeml.queues import Queue
from exeml.task_types import TaskType
from exeml.tenancy import services as tenancy_services
from exeml.tenancy.models import FlavorPurpose, Quota, UsageRecord
from exeml.tenancy.scoping import tenant_scope, unscoped
from exeml.tenancy.services import quota_check, quota_for
from serving.lookup import service_forget
from serving.models import (
    ACTIVE_STATUSES,
    SERVICE_TRANSITIONS,
    Service,
    ServiceCallMinute,
    ServiceStatus,
)
from training.models import ModelVersion, VersionStatus

log = logging.getLogger(__name__)

CALL_RETENTION = timedelta(hours=24)
JOB_KIND_DEPLOY = "service_deploy"
DEPLOY_CANCELLED = "deploy cancelled by the user"
# A deploy runs under job_heartbeat, which notices a cancel; the service ends failed with the
# reason (start it again), and a deploy that finished cannot be cancelled (409).
CANCELLABLE_KINDS.add(JOB_KIND_DEPLOY)


# --- Inputs ------------------------------------------------------------------------------


def auto_stop_parse(value: Any) -> tuple[bool, float]:
    """(enabled, hours) from the request's ``auto_stop``; on at the default (1 h) when absent.

    The console offers 1/2/4/6 h or a custom 1–24 h (settings.EXEML_AUTO_STOP_*); anything else
    is refused.
    """
    default = settings.EXEML_AUTO_STOP_DEFAULT_HOURS
    low, high = settings.EXEML_AUTO_STOP_MIN_HOURS, settings.EXEML_AUTO_STOP_MAX_HOURS
    if value is None:
        return True, default
    if not isinstance(value, dict):
        raise ApplicationError(f'expected {{"enabled": bool, "hours": {low:g}..{high:g}}}', field="auto_stop")
    enabled = value.get("enabled", True)
    if not isinstance(enabled, bool):
        raise ApplicationError("enabled must be true or false", field="auto_stop")
    hours = value.get("hours", default)
    if hours is None and not enabled:
        hours = default
    if isinstance(hours, bool) or not isinstance(hours, int | float):
        raise ApplicationError(f"hours must be a number from {low:g} to {high:g}", field="auto_stop")
    if not low <= float(hours) <= high:
        raise ApplicationError(
            f"hours must be from {low:g} to {high:g} (1, 2, 4, 6 or a custom value)", field="auto_stop"
        )
    return enabled, float(hours)


def confidence_threshold_parse(value: Any, *, task_type: str) -> float | None:
    """The detection confidence cut from a request: a number 0..1, or null for the model's own."""
    if value is None:
        return None
    if task_type != TaskType.OBJECT_DETECTION:
        raise ApplicationError("only object detection services have a confidence threshold",
                               field="confidence_threshold")
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ApplicationError("must be a number from 0 to 1", field="confidence_threshold")
    if not 0.0 <= float(value) <= 1.0:
        raise ApplicationError(f"must be from 0 to 1 (got {value:g})", field="confidence_threshold")
    return float(value)


def predict_options(service: Service) -> dict[str, Any]:
    """Per-call predictor options from the service's settings (the predictor is shared per version)."""
    if service.confidence_threshold is None:
        return {}
    return {"conf_threshold": service.confidence_threshold}


def idle_minutes_parse(value: Any) -> int | None:
    """``auto_stop.idle_minutes``: stop after that many minutes without calls; absent or null: off."""
    if not isinstance(value, dict) or value.get("idle_minutes") is None:
        return None
    minutes = value["idle_minutes"]
    low, high = settings.EXEML_IDLE_STOP_MIN_MINUTES, settings.EXEML_IDLE_STOP_MAX_MINUTES
    if isinstance(minutes, float) and minutes.is_integer():
        minutes = int(minutes)
    if isinstance(minutes, bool) or not isinstance(minutes, int) or not low <= minutes <= high:
        raise ApplicationError(
            f"idle_minutes must be a whole number of minutes from {low} to {high}, or null to turn it off",
            field="auto_stop",
        )
    return minutes


def model_display_name(version: ModelVersion) -> str:
    return f"{version.project.name}-{version.name}"


# --- Transitions -------------------------------------------------------------------------


def _stop_at(enabled: bool, hours: float, start: datetime) -> datetime | None:
    return start + timedelta(hours=hours) if enabled else None


def _usage_open(service: Service, now: datetime) -> None:
    UsageRecord.objects.create(
        resource="service", resource_id=service.pk, resource_name=service.name[:120], flavor=service.flavor, start=now
    )


def _usage_close(service: Service, now: datetime) -> None:
    for record in UsageRecord.objects.filter(resource="service", resource_id=service.pk, end__isnull=True):
        record.end = now
        record.minutes = max(0.0, (now - record.start).total_seconds() / 60.0)
        record.save(update_fields=["end", "minutes"])


@transaction.atomic
def service_transition(
    *, service_id: uuid.UUID | str, status: str, error: str | None = None, warning: str | None = None
) -> Service:
    """The one place a service's status changes."""
    service = Service.objects.select_for_update().select_related("flavor").get(pk=service_id)
    if status not in SERVICE_TRANSITIONS[service.status]:
        raise WrongState(f"service cannot go from {service.status} to {status}", status_value=service.status)
    now = timezone.now()
    previous = service.status
    service.status = status
    if status == ServiceStatus.DEPLOYING:
        service.error = ""
        service.warning = ""
        service.stopped_at = None
        service.stop_at = _stop_at(service.auto_stop_enabled, service.auto_stop_hours, now)
    elif status == ServiceStatus.RUNNING:
        service.started_at = now
        # The auto-stop clock runs from when the service can answer, as in ModelArts.
        service.stop_at = _stop_at(service.auto_stop_enabled, service.auto_stop_hours, now)
        _usage_open(service, now)
    elif status in (ServiceStatus.STOPPED, ServiceStatus.FAILED):
        service.stopped_at = now
        if previous == ServiceStatus.RUNNING or previous == ServiceStatus.STOPPING:
            _usage_close(service, now)
    if error is not None:
        service.error = error[:4000]
    if warning is not None:
        service.warning = warning
    service.save()
    # This process's inference path stops answering from the cached row at once.
    service_forget(service.pk)
    return service


# --- Deploy, start, stop, delete ------------------------------------------------------------


def _running_quota_check(tenant: Any) -> None:
    """Under a lock on the tenant's quota row, so two concurrent deploys cannot both pass."""
    quota_for(tenant)
    Quota.objects.select_for_update().filter(tenant=tenant).first()
    quota_check(tenant=tenant, quota="max_running_services", adding=1)


def _enqueue_deploy(service: Service, *, user: Any = None) -> None:
    job = job_create(
        kind=JOB_KIND_DEPLOY,
        params={"model_version": str(service.model_version_id), "flavor": service.flavor.code},
        target_type="service",
        target_id=service.pk,
        user=user,
    )
    Service.objects.filter(pk=service.pk).update(deploy_job=job)
    service.deploy_job = job
    from serving import tasks

    args = [str(service.pk), str(service.tenant_id), str(job.pk)]

    def send() -> None:
        try:
            tasks.deploy_service.apply_async(args=args, queue=Queue.DEFAULT)
        except Exception as exc:  # broker down: fail the service now instead of deploying forever
            log.exception("could not queue the deploy of service %s", service.pk)
            reason = f"could not queue the deploy: {type(exc).__name__}: {exc}"
            try:
                service_transition(service_id=service.pk, status=ServiceStatus.FAILED, error=reason)
                job_transition(job_id=job.pk, status=JobStatus.FAILED, detail=reason)
            except WrongState:
                pass

    transaction.on_commit(send)


@transaction.atomic
def service_deploy(
    *,
    version: ModelVersion,
    user: Any = None,
    flavor_code: str | None = None,
    auto_stop: Any = None,
    name: str | None = None,
    confidence_threshold: Any = None,
) -> Service:
    if version.status != VersionStatus.COMPLETED:
        raise WrongState(f"only a completed version can be deployed (this one is {version.status})",
                         status_value=version.status)
    enabled, hours = auto_stop_parse(auto_stop)
    threshold = confidence_threshold_parse(confidence_threshold, task_type=version.project.task_type)
    idle_minutes = idle_minutes_parse(auto_stop)
    flavor = tenancy_services.flavor_resolve(
        purpose=FlavorPurpose.DEPLOY, task_type=version.project.task_type, code=flavor_code, free_default=True
    )
    _running_quota_check(version.tenant)
    display = model_display_name(version)
    service = Service.objects.create(
        name=(name or f"service-{display}")[:64],
        model_version=version,
        flavor=flavor,
        status=ServiceStatus.DEPLOYING,
        auto_stop_enabled=enabled,
        auto_stop_hours=hours,
        confidence_threshold=threshold,
        idle_stop_minutes=idle_minutes,
        stop_at=_stop_at(enabled, hours, timezone.now()),
        created_by=user if getattr(user, "is_authenticated", False) else None,
    )
    _enqueue_deploy(service, user=service.created_by)
    return service


@transaction.atomic
def service_start(
    *, service: Service, user: Any = None, auto_stop: Any = None, confidence_threshold: Any = None
) -> Service:
    """Stopped or failed → deploying again, with a fresh auto-stop time (and, when given, a new
    confidence threshold)."""
    if service.status not in (ServiceStatus.STOPPED, ServiceStatus.FAILED):
        raise WrongState(f"service is {service.status}; only a stopped or failed service can start",
                         status_value=service.status)
    if confidence_threshold is not None:
        threshold = confidence_threshold_parse(
            confidence_threshold, task_type=service.model_version.project.task_type
        )
        Service.objects.filter(pk=service.pk).update(confidence_threshold=threshold)
    if auto_stop is not None:
        enabled, hours = auto_stop_parse(auto_stop)
        idle_minutes = idle_minutes_parse(auto_stop)
        Service.objects.filter(pk=service.pk).update(
            auto_stop_enabled=enabled, auto_stop_hours=hours, idle_stop_minutes=idle_minutes
        )
    _running_quota_check(service.tenant)
    service = service_transition(service_id=service.pk, status=ServiceStatus.DEPLOYING)
    _enqueue_deploy(service, user=user if getattr(user, "is_authenticated", False) else None)
    return service


def service_stop(*, service_id: uuid.UUID | str) -> Service:
    """Stop a deploying or running service; stopping a stopped one is a no-op."""
    service = Service.objects.get(pk=service_id)
    if service.status == ServiceStatus.STOPPED:
        return service
    service = service_transition(service_id=service_id, status=ServiceStatus.STOPPED)
    from serving import runtime

    # Other web processes keep the predictor until the LRU drops it; their requests check
    # the status from a row cached at most EXEML_SERVICE_LOOKUP_CACHE_SECONDS, so a stopped
    # service answers 409 everywhere within those seconds (in this process at once).
    runtime.predictor_cache().evict_version(service.model_version_id)
    return service


def service_delete(*, service: Service) -> None:
    if service.status != ServiceStatus.STOPPED:
        service_stop(service_id=service.pk)
    Service.objects.filter(pk=service.pk).delete()
    service_forget(service.pk)


def service_deploy_run(*, service_id: uuid.UUID | str, job_id: uuid.UUID | str | None = None) -> Service | None:
    """Worker side of a deploy: fetch the bundle, open a session, warm it, mark running.

    With a job, the steps run under its heartbeat: a hung storage shows as "waiting for
    storage (since …)" and fails the deploy past EXEML_STORAGE_STALL_SECONDS; a cancel stops it
    within seconds, even inside a hung download, and leaves the service failed with the reason.
    """
    from serving import runtime
    from training.engine.predictors import load_predictor

    if job_id:
        job = Job.objects.filter(pk=job_id).first()
        if job is None or job.status not in (JobStatus.QUEUED, JobStatus.RUNNING):
            # Cancelled while queued (ON_CANCELLED settled the service), or a redelivery of a finished deploy.
            return Service.objects.filter(pk=service_id).first()
        job_transition(job_id=job_id, status=JobStatus.RUNNING)
    service = (
        Service.objects.select_related("flavor", "model_version", "model_version__tenant").filter(pk=service_id).first()
    )
    if service is None:  # deleted before the worker got to it
        if job_id:
            job_transition(job_id=job_id, status=JobStatus.SUCCEEDED, detail="service was deleted")
        return None
    if service.status != ServiceStatus.DEPLOYING:
        if job_id:
            job_transition(job_id=job_id, status=JobStatus.SUCCEEDED, detail=f"service is {service.status}")
        return service

    def load() -> str:
        providers, warning = runtime.providers_for(service.flavor.device)
        bundle_dir = runtime.artifact_fetch(version=service.model_version)
        predictor = load_predictor(bundle_dir, providers=providers, intra_op_threads=1)
        predictor.warmup()
        return warning

    try:
        if job_id:
            with job_heartbeat(job_id):
                warning = job_wait(load)
                job_checkpoint()
        else:
            warning = load()
    except JOB_STOPPED as exc:
        return _deploy_stopped(service, job_id, exc)
    except Exception as exc:  # any failure here is the service's failure, with its reason
        log.exception("deploy of service %s failed", service_id)
        reason = f"deploy failed: {type(exc).__name__}: {exc}"
        try:
            service = service_transition(service_id=service_id, status=ServiceStatus.FAILED, error=reason)
        except WrongState:
            service.refresh_from_db()
        if job_id:
            try:
                job_transition(job_id=job_id, status=JobStatus.FAILED, detail=reason)
            except WrongState:
                pass  # another delivery of this deploy ended the job first
        return service
    with transaction.atomic():
        # Under the job's row lock, which job_cancel takes too: a cancel either came first (the
        # deploy ends cancelled) or finds the deploy finished (409), never a running service
        # with a cancelled job.
        job = Job.objects.select_for_update().filter(pk=job_id).first() if job_id else None
        if job is not None and job.status in (JobStatus.SUCCEEDED, JobStatus.FAILED):
            # Another delivery of this deploy (a redelivered message) ended it first: its outcome stands.
            service.refresh_from_db()
            return service
        if job is not None and (job.cancel_requested or job.status != JobStatus.RUNNING):
            stopped: BaseException | None = JobCancelled(DEPLOY_CANCELLED)
        else:
            stopped = None
            try:
                service = service_transition(service_id=service_id, status=ServiceStatus.RUNNING, warning=warning)
            except WrongState:  # stopped while deploying: leave it stopped
                service.refresh_from_db()
            if job_id:
                job_transition(job_id=job_id, status=JobStatus.SUCCEEDED, detail=f"service is {service.status}")
    if stopped is not None:
        return _deploy_stopped(service, job_id, stopped)
    return service


def _deploy_stopped(service: Service, job_id: uuid.UUID | str | None, exc: BaseException) -> Service:
    """A deploy cancelled (or stalled on storage, or its job ended elsewhere): the service ends
    failed with the reason, the job cancelled (or failed). A service stopped meanwhile stays stopped."""
    job = Job.objects.filter(pk=job_id).first() if job_id else None
    if job is not None and job.status == JobStatus.SUCCEEDED:
        # "The job already ended": another delivery of this deploy finished it; its service stands.
        service.refresh_from_db()
        return service
    if job is not None and job.status == JobStatus.RUNNING:
        # The heartbeat records a cancel it noticed; this one came after the last step.
        cancelled = isinstance(exc, JobCancelled)
        try:
            job = job_transition(job_id=job.pk, status=JobStatus.CANCELLED if cancelled else JobStatus.FAILED,
                                 detail="cancelled by the user" if cancelled else str(exc))
        except WrongState:
            job.refresh_from_db()
    if job is not None and job.status == JobStatus.FAILED:
        reason = f"deploy failed: {job.detail}"  # e.g. the storage did not answer within the limit
    elif job is None and not isinstance(exc, JobCancelled):
        reason = f"deploy failed: {exc}"
    else:
        reason = DEPLOY_CANCELLED
    try:
        service = service_transition(service_id=service.pk, status=ServiceStatus.FAILED, error=reason)
    except WrongState:
        service.refresh_from_db()
    return service


def _deploy_cancelled_before_running(job: Job) -> None:
    """ON_CANCELLED: a deploy cancelled while queued (or with its worker gone) leaves its service failed."""
    service = Service.objects.filter(pk=job.target_id, deploy_job_id=job.pk, status=ServiceStatus.DEPLOYING).first()
    if service is None:
        return
    try:
        service_transition(service_id=service.pk, status=ServiceStatus.FAILED, error=DEPLOY_CANCELLED)
    except WrongState:
        pass  # stopped or finished meanwhile


ON_CANCELLED[JOB_KIND_DEPLOY] = _deploy_cancelled_before_running


# --- Auto-stop (beat) ---------------------------------------------------------------------


def service_is_expired(service: Service, *, now: datetime | None = None) -> bool:
    now = now or timezone.now()
    return (
        service.auto_stop_enabled
        and service.stop_at is not None
        and service.status in ACTIVE_STATUSES
        and service.stop_at <= now
    )


def idle_since(service: Service) -> datetime | None:
    """When the idle clock started: the last call, or the start when none came since."""
    moments = [t for t in (service.started_at, service.last_call_at) if t is not None]
    return max(moments) if moments else None


def idle_stop_at(service: Service) -> datetime | None:
    """When the idle stop will happen if no call comes (None when off or not running)."""
    since = idle_since(service)
    if service.idle_stop_minutes is None or service.status != ServiceStatus.RUNNING or since is None:
        return None
    return since + timedelta(seconds=service.idle_stop_minutes * settings.EXEML_IDLE_UNIT_SECONDS)


def _idle_due(now: datetime) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """Running services with an idle stop whose idle time has passed. Few services use it,
    so the per-service arithmetic is done here rather than in database-specific SQL."""
    candidates = Service.objects.filter(status=ServiceStatus.RUNNING, idle_stop_minutes__isnull=False).only(
        "pk", "tenant_id", "status", "started_at", "last_call_at", "idle_stop_minutes"
    )
    due = []
    for service in candidates:
        at = idle_stop_at(service)
        if at is not None and at <= now:
            due.append((service.pk, service.tenant_id))
    return due


def _idle_still_due(service_id: uuid.UUID, now: datetime) -> bool:
    """Re-read under the row lock: a call flushed since the scan keeps the service running."""
    service = Service.objects.select_for_update().filter(pk=service_id).first()
    at = idle_stop_at(service) if service is not None else None
    return at is not None and at <= now


def services_autostop(*, now: datetime | None = None) -> int:
    """Stop every service whose auto-stop time has passed or that has been idle for its idle
    time, across tenants; prune old calls."""
    now = now or timezone.now()
    with unscoped():
        due = list(
            Service.objects.filter(
                auto_stop_enabled=True, stop_at__lte=now, status__in=ACTIVE_STATUSES
            ).values_list("pk", "tenant_id")
        )
        idle = [entry for entry in _idle_due(now) if entry not in due]
    calls_prune(before=now - CALL_RETENTION)
    stopped = 0
    for service_id, tenant_id in [*due, *idle]:
        with tenant_scope(tenant_id):
            try:
                if (service_id, tenant_id) in idle:
                    with transaction.atomic():
                        if not _idle_still_due(service_id, now):
                            continue
                        service = service_stop(service_id=service_id)
                        log.info("service %s stopped after %s idle minutes", service_id, service.idle_stop_minutes)
                else:
                    service_stop(service_id=service_id)
                stopped += 1
            except (WrongState, Service.DoesNotExist):
                continue
    return stopped


# --- Calls and metrics --------------------------------------------------------------------


CALL_PRUNE_BATCH = 5_000


def calls_prune(*, before: datetime) -> int:
    """Deletes every tenant's per-minute call counts older than ``before``, CALL_PRUNE_BATCH
    rows per transaction; returns how many went."""
    with unscoped():
        return sum(delete_in_batches(ServiceCallMinute.objects.filter(minute__lt=before), batch=CALL_PRUNE_BATCH))

"""Training versions: create + enqueue, stop, and reap versions whose worker died."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from exeml.errors import ApplicationError, WrongState
from exeml.tenancy.models import Tenant
from exeml.tenancy.scoping import tenant_scope, unscoped
from training import preconditions
from training.models import ModelVersion, Preference, VersionStatus
from training.transitions import ACTIVE, version_transition


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
        raise ApplicationError(
            "incremental training is available for image classification, object detection and sound "
            "classification only",
            field="incremental_from",
        )
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
    if dataset_version is None:
        from datasets.versioning import dataset_version_publish

        dataset_version = dataset_version_publish(
            dataset=project.dataset,
            train_ratio=train_ratio,
            user=user,
            label_column=project.label_column or None,
            label_type=project.label_type or None,
        )
    with transaction.atomic():
        # The project row lock serialises numbering and the quota re-check.
        Project.objects.select_for_update().get(pk=project.pk)
        preconditions.quota_checks(tenant=tenant)
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
                "max_minutes": max_minutes,
                "preference": preference,
                "flavor": flavor_row.code,
                "incremental_from": base.name if base else None,
            },
            created_by=user,
        )
        version_enqueue(version=version)
    return version


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
                    version_transition(version_id=pk, status=VersionStatus.FAILED, error=reason, log_lines=[reason])
            except WrongState:
                continue
        reaped.append(pk)
    return reaped


def active_trainings(tenant: Tenant) -> int:
    with tenant_scope(tenant):
        return ModelVersion.objects.filter(status__in=ACTIVE).count()


"""The one place a ModelVersion changes status.

Every change runs under ``select_for_update`` and is checked against ALLOWED, so a stop
racing with the worker's start, or the reaper racing with a late completion, cannot
produce an impossible history (e.g. failed → running).
"""

from __future__ import annotations

import uuid
from typing import Any

from django.db import transaction
from django.utils import timezone

from exeml.errors import WrongState, scrub
from exeml.tenancy.services import usage_record_finished
from training.log_lines import bounded
from training.models import ModelVersion, VersionStatus

ALLOWED: dict[str, set[str]] = {
    VersionStatus.QUEUED: {VersionStatus.RUNNING, VersionStatus.STOPPED, VersionStatus.FAILED},
    # running -> queued: handed back to the queue when its worker was stopped by the operator.
    VersionStatus.RUNNING: {VersionStatus.COMPLETED, VersionStatus.FAILED, VersionStatus.STOPPED, VersionStatus.QUEUED},
    VersionStatus.COMPLETED: set(),
    VersionStatus.FAILED: set(),
    VersionStatus.STOPPED: set(),
}
FINISHED = {VersionStatus.COMPLETED, VersionStatus.FAILED, VersionStatus.STOPPED}
ACTIVE = {VersionStatus.QUEUED, VersionStatus.RUNNING}


def version_transition(
    *, version_id: uuid.UUID | str, status: str, log_lines: list[str] | None = None, **fields: Any
) -> ModelVersion:
    """Move a version to ``status`` (WrongState when not allowed) and set ``fields`` with it.

    Entering running stamps started_at/heartbeat_at; a finished status stamps finished_at
    and, when the version ran, writes its UsageRecord in the same transaction.
    """
    with transaction.atomic():
        version = ModelVersion.objects.select_for_update().get(pk=version_id)
        if status not in ALLOWED[version.status]:
            raise WrongState(
                f"version {version.name} cannot go from {version.status} to {status}", status_value=version.status
            )
        now = timezone.now()
        if status == VersionStatus.COMPLETED and version.stop_requested:
            # The user's stop wins over a completion that arrived after it.
            status = VersionStatus.STOPPED
            log_lines = [*(log_lines or []), "stop requested before the training completed: the version is stopped"]
        version.status = status
        if fields.get("error"):
            fields["error"] = scrub(fields["error"])  # users read it: no server paths or endpoints
        for name, value in fields.items():
            setattr(version, name, value)
        if status == VersionStatus.RUNNING:
            version.started_at = now
            version.heartbeat_at = now
        if status == VersionStatus.QUEUED:
            version.started_at = version.heartbeat_at = None
            version.phase, version.progress, version.worker = "", 0.0, ""
        if status in FINISHED:
            # The reaper passes the last heartbeat: the dead time after it is not billed.
            version.finished_at = fields.get("finished_at") or now
            if status == VersionStatus.COMPLETED:
                version.progress = 1.0
        if log_lines:
            version.log_tail = bounded([*version.log_tail, *log_lines])
        version.save()
        if status in FINISHED and version.started_at is not None:
            _record_usage(version)
    return version


def _record_usage(version: ModelVersion) -> None:
    usage_record_finished(
        resource="training", resource_id=version.pk, resource_name=f"{version.project.name}-{version.name}",
        flavor_id=version.flavor_id, start=version.started_at, end=version.finished_at,
    )

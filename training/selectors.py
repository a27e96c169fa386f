"""Reads of training versions."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from django.db.models import QuerySet

from exeml.tenancy.scoping import unscoped
from training.models import ModelVersion, VersionStatus


def version_list(*, project) -> QuerySet[ModelVersion]:
    return (
        ModelVersion.objects.filter(project=project)
        .select_related("dataset_version", "flavor", "incremental_from")
        .defer("eval_predictions", "log_tail")
        .order_by("-number")
    )


def queue_positions(*, versions: Iterable[ModelVersion]) -> dict[uuid.UUID, int]:
    """1-based place of each queued version in its queue (1 = next to start).

    Queues are shared by every tenant (the free queue runs one job at a time), so the
    count crosses tenants; only a number is revealed. One query per queue involved.
    """
    queued = [v for v in versions if v.status == VersionStatus.QUEUED]
    positions: dict[uuid.UUID, int] = {}
    for queue in {v.queue for v in queued}:
        oldest = min(v.created_at for v in queued if v.queue == queue)
        with unscoped():
            queued_here = ModelVersion.all_tenants.filter(queue=queue, status=VersionStatus.QUEUED)
        ahead = list(
            queued_here.filter(created_at__gte=oldest).order_by("created_at", "pk").values_list("pk", flat=True)
        )
        before = queued_here.filter(created_at__lt=oldest).count()
        for index, pk in enumerate(ahead):
            positions[pk] = before + index + 1
    return positions

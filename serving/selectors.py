"""Reads: services, models (completed versions) and service metrics."""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.db.models import QuerySet, Sum
from django.utils import timezone

from exeml.errors import ApplicationError, NotFound
from serving import latency
from serving.metrics import flush_calls
from serving.models import Service, ServiceCallMinute, ServiceLatencyBucket
from training.models import ModelVersion, VersionStatus


def _project_filter(project_id: str) -> uuid.UUID:
    """The ``?project=`` filter: a project of this tenant, else 404 (another tenant's id and
    an unknown one answer alike, so the filter cannot probe for ids)."""
    from projects.models import Project

    try:
        pk = uuid.UUID(str(project_id))
    except ValueError:
        raise ApplicationError("not a valid project id", field="project") from None
    if not Project.objects.filter(pk=pk).exists():
        raise NotFound("No such project.")
    return pk


def service_list(*, project_id: str | None = None) -> QuerySet[Service]:
    qs = Service.objects.select_related("flavor", "model_version", "model_version__project__dataset")
    if project_id:
        qs = qs.filter(model_version__project_id=_project_filter(project_id))
    return qs


def model_list(*, project_id: str | None = None) -> QuerySet[ModelVersion]:
    qs = ModelVersion.objects.filter(status=VersionStatus.COMPLETED).select_related("project")
    if project_id:
        qs = qs.filter(project_id=_project_filter(project_id))
    return qs.order_by("-finished_at", "-created_at")


def service_metrics(*, service: Service) -> dict:
    """Calls, failures and latency percentiles since start and over the last hour."""
    flush_calls()  # this process's buffered calls
    # The minute an hour ago counts whole: "last hour" is the last 60 to 61 minutes.
    since = (timezone.now() - timedelta(hours=1)).replace(second=0, microsecond=0)
    recent = list(
        ServiceCallMinute.objects.filter(service=service, minute__gte=since)
        .order_by()
        .values("bucket")
        .annotate(calls=Sum("calls"), failures=Sum("failures"))
    )
    recent_counts = {row["bucket"]: row["calls"] for row in recent}
    recent_failures = sum(row["failures"] for row in recent)
    counts = dict(ServiceLatencyBucket.objects.filter(service=service).values_list("bucket", "count"))
    service.refresh_from_db(fields=["invocation_times", "failed_times"])
    # "errors" is API.md's name; "failures" (the same number) is what the console reads.
    return {
        "calls": service.invocation_times,
        "errors": service.failed_times,
        "failures": service.failed_times,
        "latency_ms": latency.percentiles(counts),
        "last_hour": {
            "calls": sum(recent_counts.values()),
            "errors": recent_failures,
            "failures": recent_failures,
            "latency_ms": latency.percentiles(recent_counts),
        },
    }

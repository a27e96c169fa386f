"""Reads: services, models (completed versions) and service metrics."""

from __future__ import annotations

import uuid
from datetime import timedelta

import numpy as np
from django.db.models import QuerySet
from django.utils import timezone

from exeml.errors import ApplicationError, NotFound
from serving.metrics import flush_calls
from serving.models import LATENCY_BUCKETS_MS, Service, ServiceCall, ServiceLatencyBucket
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


def _percentiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p95": None, "p99": None}
    arr = np.asarray(values, dtype=np.float64)
    p50, p95, p99 = np.percentile(arr, [50, 95, 99])
    return {"p50": round(float(p50), 3), "p95": round(float(p95), 3), "p99": round(float(p99), 3)}


def _histogram_percentiles(counts: dict[int, int]) -> dict[str, float | None]:
    """Percentiles from the since-start histogram: each bucket's upper bound (ms)."""
    total = sum(counts.values())
    if not total:
        return {"p50": None, "p95": None, "p99": None}
    out: dict[str, float | None] = {}
    for name, q in (("p50", 0.50), ("p95", 0.95), ("p99", 0.99)):
        rank, seen = q * total, 0
        for bucket in sorted(counts):
            seen += counts[bucket]
            if seen >= rank:
                bound = LATENCY_BUCKETS_MS[min(bucket, len(LATENCY_BUCKETS_MS) - 1)]
                # The open-ended last bucket reports the last finite bound.
                out[name] = float(bound if bound != float("inf") else LATENCY_BUCKETS_MS[-2])
                break
    return out


def service_metrics(*, service: Service) -> dict:
    """Calls, failures and latency percentiles since start and over the last hour."""
    flush_calls()  # this process's buffered calls
    since = timezone.now() - timedelta(hours=1)
    recent = list(ServiceCall.objects.filter(service=service, at__gte=since).values_list("latency_ms", "ok"))
    counts = dict(ServiceLatencyBucket.objects.filter(service=service).values_list("bucket", "count"))
    service.refresh_from_db(fields=["invocation_times", "failed_times"])
    recent_failures = sum(1 for _, ok in recent if not ok)
    # "errors" is API.md's name; "failures" (the same number) is what the console reads.
    return {
        "calls": service.invocation_times,
        "errors": service.failed_times,
        "failures": service.failed_times,
        "latency_ms": _histogram_percentiles(counts),
        "last_hour": {
            "calls": len(recent),
            "errors": recent_failures,
            "failures": recent_failures,
            "latency_ms": _percentiles([latency for latency, _ in recent]),
        },
    }

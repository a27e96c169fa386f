"""Project reads; the status comes from the latest version via a subquery (constant queries)."""

from __future__ import annotations

from django.db.models import OuterRef, Prefetch, QuerySet, Subquery

from projects.models import Project

# ModelVersion status -> project status shown in the list.
STATUS_OF_VERSION = {
    "queued": "training",
    "running": "training",
    "completed": "completed",
    "failed": "failed",
    "stopped": "failed",
}


def project_status(latest_version_status: str | None) -> str:
    if not latest_version_status:
        return "not_started"
    return STATUS_OF_VERSION.get(latest_version_status, "not_started")


def project_list(*, search: str | None = None, task_type: str | None = None, with_versions: bool = False) -> QuerySet:
    from training.models import ModelVersion

    # all_tenants is safe here: the subquery is correlated to a project already tenant-scoped.
    latest = ModelVersion.all_tenants.filter(project=OuterRef("pk")).order_by("-number").values("status")[:1]
    qs = Project.objects.select_related("dataset").annotate(latest_version_status=Subquery(latest))
    if search:
        qs = qs.filter(name__icontains=search)
    if task_type:
        qs = qs.filter(task_type=task_type)
    if with_versions:
        qs = qs.prefetch_related(
            Prefetch("versions", queryset=ModelVersion.objects.only("id", "name", "status", "number", "project_id"))
        )
    return qs.order_by("-created_at")

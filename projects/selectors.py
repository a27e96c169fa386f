"""Project reads; the status comes from the latest version via a subquery (constant queries).

Versions are read through the ``versions`` reverse relation, so projects needs nothing from
the training app (which sits above it).
"""

from __future__ import annotations

from django.db.models import OuterRef, QuerySet, Subquery

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


def project_list(*, search: str | None = None, task_type: str | None = None) -> QuerySet:
    # Correlated to the outer (tenant-scoped) project: its versions, newest first.
    latest = (
        Project.objects.filter(pk=OuterRef("pk"), versions__isnull=False)
        .order_by("-versions__number")
        .values("versions__status")[:1]
    )
    qs = Project.objects.select_related("dataset").annotate(latest_version_status=Subquery(latest))
    if search:
        qs = qs.filter(name__icontains=search)
    if task_type:
        qs = qs.filter(task_type=task_type)
    return qs.order_by("-created_at")


def version_summaries(*, project: Project) -> list[dict]:
    """``[{"id", "name", "status"}]`` of the project's versions, in their default order; one query."""
    return [
        {"id": str(row["id"]), "name": row["name"], "status": row["status"]}
        for row in project.versions.values("id", "name", "status")
    ]

"""Project reads; the status comes from the latest version via a subquery (constant queries).

Versions are read through the ``versions`` reverse relation, so projects needs nothing from
the training app (which sits above it).
"""

from __future__ import annotations

from django.db.models import Count, OuterRef, QuerySet, Subquery

from datasets.models import Sample
from exeml.task_types import SINGLE_LABEL, TaskType
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


def multi_labelled_count(*, dataset) -> int:
    """How many samples of ``dataset`` carry two or more different labels."""
    return (
        Sample.objects.filter(dataset=dataset)
        .annotate(n=Count("annotations__label", distinct=True))
        .filter(n__gt=1)
        .count()
    )


def dataset_single_label(*, dataset) -> bool:
    """May a sample of ``dataset`` carry one label only?

    Sound and text always; detection never (labels are per box). An image dataset is
    single-label when a single-label project uses it: a project trains on the dataset's
    labels, so the strictest project using it decides. An image dataset no project uses
    (yet) takes any labels.
    """
    if dataset.task_type in SINGLE_LABEL:
        return True
    if dataset.task_type != TaskType.IMAGE_CLASSIFICATION:
        return False
    return Project.objects.filter(dataset=dataset, multi_label=False).exists()

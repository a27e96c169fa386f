"""Label statistics and the guide's training preconditions per project type.

Guide ("Train"): image and sound need at least 2 classes with at least 5 samples each;
text at least 2 classes with more than 20 samples each; object detection at least one
labelled image per class; predictive analytics a valid label column.
"""

from __future__ import annotations

from django.conf import settings
from django.db.models import Count, Q

from datasets.models import Dataset, Sample, SampleStatus
from exeml.task_types import TaskType
from labeling.selectors import label_list


def label_stats(*, dataset: Dataset) -> dict:
    """``{"labels": [{"name","color","count"}], "labeled", "unlabeled", "train_ready": {"ok","reasons"}}``."""
    labels = [{"name": lb.name, "color": lb.color, "count": lb.count} for lb in label_list(dataset=dataset)]
    totals = Sample.objects.filter(dataset=dataset, status=SampleStatus.OK).aggregate(
        n_labeled=Count("pk", filter=Q(labeled=True)), n_unlabeled=Count("pk", filter=Q(labeled=False))
    )
    label_column = label_type = None
    if dataset.task_type == TaskType.PREDICTIVE_ANALYTICS:
        from projects.models import Project

        project = Project.objects.filter(dataset=dataset).order_by("-created_at").first()
        if project is not None:
            label_column, label_type = project.label_column or None, project.label_type or None
    reasons = _preconditions(
        dataset=dataset, task_type=dataset.task_type, counts={lb["name"]: lb["count"] for lb in labels},
        labeled=totals["n_labeled"], label_column=label_column, label_type=label_type,
    )
    return {
        "labels": labels,
        "labeled": totals["n_labeled"],
        "unlabeled": totals["n_unlabeled"],
        "train_ready": {"ok": not reasons, "reasons": reasons},
    }


def train_preconditions(
    *, dataset: Dataset, task_type: str, label_column: str | None = None, label_type: str | None = None
) -> list[str]:
    """Why training cannot start (empty when it can), in words for the user."""
    counts = {lb.name: lb.count for lb in label_list(dataset=dataset)}
    labeled = Sample.objects.filter(dataset=dataset, status=SampleStatus.OK, labeled=True).count()
    return _preconditions(
        dataset=dataset, task_type=task_type, counts=counts, labeled=labeled,
        label_column=label_column, label_type=label_type,
    )


def _preconditions(
    *, dataset: Dataset, task_type: str, counts: dict[str, int], labeled: int,
    label_column: str | None, label_type: str | None,
) -> list[str]:
    if task_type == TaskType.PREDICTIVE_ANALYTICS:
        return _tabular_reasons(dataset, label_column, label_type)
    if task_type == TaskType.OBJECT_DETECTION:
        reasons = []
        if labeled == 0:
            reasons.append("label at least one image with boxes")
        empty = sorted(name for name, n in counts.items() if n == 0)
        if empty and labeled:
            reasons.append(
                f"every label needs at least one labelled image; none yet for {', '.join(empty)} "
                "(label some or delete the label)"
            )
        return reasons
    # The guide's minimums, as settings (detection is checked above, box by box).
    minimum = settings.EXEML_TRAIN_MIN_PER_CLASS.get(task_type)
    if minimum is None:
        return [f"unknown project type {task_type!r}"]
    min_classes = settings.EXEML_TRAIN_MIN_CLASSES
    shown = f"more than {minimum - 1}" if task_type == TaskType.TEXT_CLASSIFICATION else f"at least {minimum}"
    in_use = {name: n for name, n in counts.items() if n > 0}
    reasons = []
    if len(in_use) < min_classes:
        reasons.append(
            f"at least {min_classes} classes with {shown} labelled samples each are needed; "
            f"{len(in_use)} class(es) have labelled samples"
        )
    short = sorted(f"{name} ({n})" for name, n in in_use.items() if n < minimum)
    if short:
        reasons.append(f"each class needs {shown} labelled samples; too few: {', '.join(short)}")
    return reasons


def _tabular_reasons(dataset: Dataset, label_column: str | None, label_type: str | None) -> list[str]:
    if not label_column:
        return ["choose the label column"]
    if label_type not in ("discrete", "continuous"):
        return ["choose the label type: discrete or continuous"]
    if not dataset.csv_path:
        return ["the dataset has no CSV file"]
    from datasets.versioning import csv_profile

    try:
        profile = csv_profile(dataset)
    except Exception as exc:  # noqa: BLE001 - any unreadable CSV is a reason shown to the user
        return [f"the CSV file cannot be used: {getattr(exc, 'reason', None) or exc}"]
    from datasets.formats.csv_table import check_label_column

    reason = check_label_column(profile, label_column, label_type)
    return [reason] if reason else []

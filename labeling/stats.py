"""Label statistics and the guide's training preconditions per project type.

``train_preconditions`` is the one rule book: the label statistics view shows it as
``train_ready`` and Train (training.preconditions) refuses with the same sentences, on the
live dataset or on the frozen dataset version it would train on.

Guide ("Train"): image and sound need at least 2 classes with at least 5 samples each;
text at least 2 classes with more than 20 samples each; object detection at least one
labelled image per class; predictive analytics a valid label column.
"""

from __future__ import annotations

from collections import Counter

from django.conf import settings
from django.db.models import Count

from datasets.models import Annotation, Dataset, DatasetVersion, SampleStatus
from datasets.selectors import dataset_counts, tabular_label_choice
from exeml.task_types import TaskType
from labeling.selectors import label_list


def label_stats(*, dataset: Dataset) -> dict:
    """``{"labels": [{"name","color","count"}], "labeled", "unlabeled", "train_ready": {"ok","reasons"}}``."""
    labels = [{"name": lb.name, "color": lb.color, "count": lb.count} for lb in label_list(dataset=dataset)]
    counts = dataset_counts(dataset=dataset)  # trigger-kept counters: no sample counted
    totals = {"n_labeled": counts.labeled, "n_unlabeled": counts.samples - counts.labeled}
    if dataset.task_type == TaskType.PREDICTIVE_ANALYTICS:
        label_column, label_type = tabular_label_choice(dataset=dataset)
        reasons = _tabular_reasons(dataset, label_column, label_type)
    else:
        counts = {lb["name"]: lb["count"] for lb in labels}
        reasons = _class_reasons(dataset.task_type, counts, totals["n_labeled"])
    return {
        "labels": labels,
        "labeled": totals["n_labeled"],
        "unlabeled": totals["n_unlabeled"],
        "train_ready": {"ok": not reasons, "reasons": reasons},
    }


def train_preconditions(
    *, dataset: Dataset, task_type: str, label_column: str | None = None, label_type: str | None = None,
    version: DatasetVersion | None = None, multi_label: bool = False,
) -> list[str]:
    """Why training cannot start (empty when it can), in words for the user.

    With ``version``, the frozen dataset version is judged (what a training on it would
    read), else the live dataset with the given label column/type (predictive analytics).
    ``multi_label`` is the project's mode: a single-label image project refuses images
    that carry several labels (an import from storage can bring them; the trainer would
    fail on them).
    """
    single = task_type == TaskType.IMAGE_CLASSIFICATION and not multi_label
    if version is not None:
        if task_type == TaskType.PREDICTIVE_ANALYTICS:
            return _version_table_reasons(version)
        counts: Counter[str] = Counter()
        labeled = several = 0
        for names in version.items.values_list("labels", flat=True):
            counts.update(set(names or ()))
            labeled += bool(names)
            several += len(set(names or ())) > 1
        return _class_reasons(task_type, counts, labeled) + (_several_reasons(several) if single else [])
    if task_type == TaskType.PREDICTIVE_ANALYTICS:
        return _tabular_reasons(dataset, label_column, label_type)
    counts = {lb.name: lb.count for lb in label_list(dataset=dataset)}
    labeled = dataset_counts(dataset=dataset).labeled
    reasons = _class_reasons(task_type, counts, labeled)
    if not single:
        return reasons
    # Both counters count distinct usable samples: when the labels' counts add up to the
    # labelled samples, none carries two labels, and no annotation needs reading.
    several = 0 if sum(counts.values()) == labeled else several_labels_count(dataset=dataset)
    return reasons + _several_reasons(several)


def several_labels_count(*, dataset: Dataset) -> int:
    """Usable samples that carry more than one distinct label: one grouped query over the
    annotations (through their sample index), never a query per sample."""
    return (
        Annotation.objects.filter(sample__dataset=dataset, sample__status=SampleStatus.OK)
        .values("sample_id")
        .annotate(n=Count("label_id", distinct=True))
        .filter(n__gt=1)
        .count()
    )


def _several_reasons(several: int) -> list[str]:
    if not several:
        return []
    return [
        f"{several} image{'s carry' if several > 1 else ' carries'} several labels; keep one each or make the "
        "project multi-label"
    ]


def _class_reasons(task_type: str, counts: dict[str, int], labeled: int) -> list[str]:
    """The per-class rules, from labelled-sample counts per label name."""
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


def _version_table_reasons(version: DatasetVersion) -> list[str]:
    params = version.params or {}
    reasons = []
    if not params.get("csv_path"):
        reasons.append(f"dataset version {version.name} has no training CSV")
    if not params.get("label_column"):
        reasons.append(f"dataset version {version.name} has no label column")
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

"""Dataset and sample reads; counts come from the trigger-kept counters, never from counting rows."""

from __future__ import annotations

from django.db.models import Exists, F, OuterRef, Prefetch, Q, QuerySet
from django.db.models.functions import Coalesce, Left, Length

from datasets.models import Annotation, Dataset, DatasetCounter, Label, LabelCounter, Sample, SampleStatus


def dataset_list(*, task_type: str | None = None, search: str | None = None) -> QuerySet[Dataset]:
    # The counts are the trigger-kept counters (datasets.counters): one join, no row counted.
    qs = (
        Dataset.objects.select_related("last_sync_job")
        .annotate(
            sample_count=Coalesce(F("counter__samples"), 0),
            labeled_count=Coalesce(F("counter__labeled"), 0),
            missing_count=Coalesce(F("counter__missing"), 0),
        )
        .order_by("-created_at")
    )
    if task_type:
        qs = qs.filter(task_type=task_type)
    if search:
        qs = qs.filter(name__icontains=search)
    return qs


def dataset_counts(*, dataset: Dataset) -> DatasetCounter:
    """The dataset's counters (zeros when it has none yet)."""
    return DatasetCounter.objects.filter(dataset=dataset).first() or DatasetCounter(dataset=dataset)


def sample_list(
    *, dataset: Dataset, labeled: bool | None = None, label: str | None = None, status: str | None = None,
    task=None, assignee_id=None,
) -> QuerySet[Sample]:
    qs = Sample.objects.filter(dataset=dataset).select_related("assignee", "reviewed_by").prefetch_related(
        Prefetch("annotations", queryset=Annotation.objects.select_related("label").order_by("created_at"))
    )
    # A task's samples: those it holds, or holds a second time to measure agreement (overlap).
    if task is not None:
        qs = qs.filter(Q(task_id=task) | Q(overlap_task_id=task))
    if assignee_id is not None:
        qs = qs.filter(Q(assignee_id=assignee_id) | Q(overlap_assignee_id=assignee_id))
    if status:
        qs = qs.filter(status=status)
    elif status is None:
        qs = qs.filter(status=SampleStatus.OK)
    if labeled is not None:
        qs = qs.filter(labeled=labeled)
    if label:
        # EXISTS per row in list order (through the annotation (sample) index): a page reads
        # its rows and a few more, not every annotation of the label.
        label_id = Label.objects.filter(dataset=dataset, name=label).values_list("pk", flat=True).first()
        qs = qs.filter(Exists(Annotation.objects.filter(sample=OuterRef("pk"), label_id=label_id)))
    return qs.order_by("source", "line_number")


def sample_list_count(
    *, dataset: Dataset, labeled: bool | None = None, label: str | None = None, status: str | None = None
) -> int | None:
    """The exact size of a sample list from the counters, when its filter is one they count
    (None otherwise: the paginator counts, capped)."""
    if status not in (None, SampleStatus.OK, SampleStatus.MISSING):
        return None
    counts = dataset_counts(dataset=dataset)
    if status == SampleStatus.MISSING:
        return counts.missing if labeled is None and not label else None
    if label:
        if labeled is False:
            return 0
        return (
            LabelCounter.objects.filter(label__dataset=dataset, label__name=label)
            .values_list("samples", flat=True).first() or 0
        )
    if labeled is None:
        return counts.samples
    return counts.labeled if labeled else counts.samples - counts.labeled


# A list row carries this much of a text sample; the sample's own endpoint has all of it.
TEXT_PREVIEW_CHARS = 500


def with_text_preview(qs: QuerySet[Sample]) -> QuerySet[Sample]:
    """Rows for a list page: the text cut in the database (one huge text must not make every
    page that size, nor be read at all), with its full length (SampleRowSerializer)."""
    return qs.defer("text").annotate(text_preview=Left("text", TEXT_PREVIEW_CHARS), text_chars=Length("text"))


def tabular_label_choice(*, dataset: Dataset) -> tuple[str | None, str | None]:
    """The label column and type chosen on the newest project using ``dataset`` (else none).

    Read through the reverse relation, so datasets needs nothing from the projects app.
    """
    chosen = dataset.projects.order_by("-created_at").values("label_column", "label_type").first()
    if chosen is None:
        return None, None
    return chosen["label_column"] or None, chosen["label_type"] or None

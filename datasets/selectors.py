"""Dataset and sample reads; counts come from one annotated query, never per row."""

from __future__ import annotations

from django.db.models import Count, Prefetch, Q, QuerySet
from django.db.models.functions import Left, Length

from datasets.models import Annotation, Dataset, Sample, SampleStatus


def dataset_list(*, task_type: str | None = None, search: str | None = None) -> QuerySet[Dataset]:
    ok = Q(samples__status=SampleStatus.OK)
    qs = (
        Dataset.objects.select_related("last_sync_job")
        .annotate(
            sample_count=Count("samples", filter=ok),
            labeled_count=Count("samples", filter=ok & Q(samples__labeled=True)),
            missing_count=Count("samples", filter=Q(samples__status=SampleStatus.MISSING)),
        )
        .order_by("-created_at")
    )
    if task_type:
        qs = qs.filter(task_type=task_type)
    if search:
        qs = qs.filter(name__icontains=search)
    return qs


def sample_list(
    *, dataset: Dataset, labeled: bool | None = None, label: str | None = None, status: str | None = None
) -> QuerySet[Sample]:
    qs = Sample.objects.filter(dataset=dataset).prefetch_related(
        Prefetch("annotations", queryset=Annotation.objects.select_related("label").order_by("created_at"))
    )
    if status:
        qs = qs.filter(status=status)
    elif status is None:
        qs = qs.filter(status=SampleStatus.OK)
    if labeled is not None:
        qs = qs.filter(labeled=labeled)
    if label:
        qs = qs.filter(pk__in=Annotation.objects.filter(sample__dataset=dataset, label__name=label).values("sample_id"))
    return qs.order_by("source", "line_number")


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

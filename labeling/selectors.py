"""Reads of labels and annotated samples, constant in queries however many rows."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from django.db.models import F, Prefetch, QuerySet
from django.db.models.functions import Coalesce

from datasets.models import Annotation, Dataset, Label, Sample


def label_list(*, dataset: Dataset) -> QuerySet[Label]:
    """Labels with ``count``: distinct samples (status ok) carrying them, read from the
    trigger-kept counters (datasets.counters); one query, no annotation counted."""
    return (
        Label.objects.filter(dataset=dataset)
        .annotate(count=Coalesce(F("counter__samples"), 0))
        .order_by("name")
    )


def samples_with_annotations(*, dataset: Dataset, ids: Iterable[uuid.UUID] | None = None) -> QuerySet[Sample]:
    """Samples with ``annotations`` (and their labels) prefetched: two queries in all."""
    qs = Sample.objects.filter(dataset=dataset)
    if ids is not None:
        qs = qs.filter(pk__in=list(ids))
    return qs.prefetch_related(
        Prefetch("annotations", queryset=Annotation.objects.select_related("label").order_by("created_at", "id"))
    )

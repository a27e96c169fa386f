"""Labels that arrive with data (label files, VOC, manifests) become Label + Annotation rows.

Used by dataset sync/upload and by labeling.services. An import *replaces* a sample's
annotations: a changed label file is the newer truth for that sample.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from labeling.models import Annotation, Label

# Distinct, readable on light and dark backgrounds; assigned in order of label creation.
LABEL_PALETTE = (
    "#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6", "#bfef45",
    "#fabed4", "#469990", "#dcbeff", "#9a6324", "#800000", "#aaffc3", "#808000", "#000075",
    "#ffe119", "#a9a9a9", "#ffd8b1", "#000000",
)

Box = tuple[str, float, float, float, float]  # label, xmin, ymin, xmax, ymax


@dataclass
class ImportedAnnotations:
    """What one sample should carry after an import."""

    sample: object  # datasets.models.Sample
    labels: list[str] = field(default_factory=list)
    boxes: Sequence[Box] = ()
    annotated_by: str = "human"
    confidence: float | None = None


def palette_color(index: int) -> str:
    return LABEL_PALETTE[index % len(LABEL_PALETTE)]


def ensure_labels(*, dataset, names: Sequence[str]) -> dict[str, Label]:
    """Labels of ``dataset`` by name, creating missing ones with palette colors (2-3 queries)."""
    wanted = list(dict.fromkeys(names))
    existing = {lb.name: lb for lb in Label.objects.filter(dataset=dataset, name__in=wanted)}
    missing = [n for n in wanted if n not in existing]
    if missing:
        start = Label.objects.filter(dataset=dataset).count()
        created = [
            Label(dataset=dataset, tenant_id=dataset.tenant_id, name=n, color=palette_color(start + i))
            for i, n in enumerate(missing)
        ]
        Label.objects.bulk_create(created, ignore_conflicts=True)
        existing.update({lb.name: lb for lb in Label.objects.filter(dataset=dataset, name__in=missing)})
    return existing


def apply_imported_annotations_many(*, dataset, items: Sequence[ImportedAnnotations]) -> None:
    """Replace the annotations of many samples of one dataset in a constant number of queries."""
    if not items:
        return
    from datasets.models import Sample

    names = [n for it in items for n in it.labels] + [b[0] for it in items for b in it.boxes]
    labels = ensure_labels(dataset=dataset, names=names)
    Annotation.objects.filter(sample__in=[it.sample for it in items]).delete()
    rows: list[Annotation] = []
    for it in items:
        sample = it.sample
        base = {"sample": sample, "tenant_id": sample.tenant_id, "annotated_by": it.annotated_by,
                "confidence": it.confidence}
        if it.boxes:
            for name, xmin, ymin, xmax, ymax in it.boxes:
                rows.append(Annotation(label=labels[name], xmin=xmin, ymin=ymin, xmax=xmax, ymax=ymax, **base))
        else:
            rows.extend(Annotation(label=labels[name], **base) for name in dict.fromkeys(it.labels))
        sample.labeled = bool(it.boxes) or bool(it.labels)
        sample.revision += 1
    Annotation.objects.bulk_create(rows)
    Sample.objects.bulk_update([it.sample for it in items], ["labeled", "revision", "label_reason"], batch_size=100)


def apply_imported_annotations(
    *,
    sample,
    labels: list[str],
    boxes: Sequence[Box] = (),
    annotated_by: str = "human",
    confidence: float | None = None,
) -> None:
    """Replace ``sample``'s annotations with ``labels`` (or detection ``boxes``).

    Creates missing labels (palette colors), sets ``sample.labeled`` and bumps its revision.
    """
    apply_imported_annotations_many(
        dataset=sample.dataset,
        items=[ImportedAnnotations(sample=sample, labels=list(labels), boxes=boxes,
                                   annotated_by=annotated_by, confidence=confidence)],
    )

"""Labels of a dataset: the one place labels are created, and annotations that arrive with data.

Label files, VOC files and manifests become Label + Annotation rows here (sync and upload);
the human labeling workflow (labeling.services) creates labels through ``labels_ensure`` too.
An import *replaces* a sample's annotations: a changed label file is the newer truth for
that sample.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from datasets.models import Annotation, Dataset, Label, Sample

# Distinct, readable on light and dark backgrounds; a new label takes the first one not in use.
LABEL_PALETTE = (
    "#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6", "#bfef45",
    "#fabed4", "#469990", "#dcbeff", "#9a6324", "#800000", "#aaffc3", "#808000", "#000075",
    "#ffe119", "#a9a9a9", "#ffd8b1", "#000000",
)

Box = tuple[str, float, float, float, float]  # label, xmin, ymin, xmax, ymax


def next_color(used: Iterable[str]) -> str:
    """The first palette color not in ``used``; cycles when all are taken."""
    taken = {c.lower() for c in used}
    for color in LABEL_PALETTE:
        if color not in taken:
            return color
    return LABEL_PALETTE[len(taken) % len(LABEL_PALETTE)]


def labels_ensure(
    *, dataset: Dataset, names: Iterable[str], colors: Mapping[str, str] | None = None
) -> dict[str, Label]:
    """Labels of ``dataset`` by name, creating the missing ones; a constant number of queries.

    A new label takes its color from ``colors`` when given there, else the next unused palette
    color. Concurrent creators of the same name are safe: the unique constraint keeps one row
    and both callers read it back.
    """
    wanted = list(dict.fromkeys(names))
    found = {lb.name: lb for lb in Label.objects.filter(dataset=dataset, name__in=wanted)}
    missing = [n for n in wanted if n not in found]
    if not missing:
        return found
    used = list(Label.objects.filter(dataset=dataset).values_list("color", flat=True))
    rows = []
    for name in missing:
        color = (colors or {}).get(name) or next_color(used)
        used.append(color)
        rows.append(Label(dataset=dataset, tenant_id=dataset.tenant_id, name=name, color=color))
    Label.objects.bulk_create(rows, ignore_conflicts=True)
    found.update({lb.name: lb for lb in Label.objects.filter(dataset=dataset, name__in=missing)})
    return found


@dataclass
class ImportedAnnotations:
    """What one sample should carry after an import."""

    sample: Sample
    labels: list[str] = field(default_factory=list)
    boxes: Sequence[Box] = ()
    annotated_by: str = "human"
    confidence: float | None = None


def apply_imported_annotations_many(*, dataset: Dataset, items: Sequence[ImportedAnnotations]) -> None:
    """Replace the annotations of many samples of one dataset in a constant number of queries."""
    if not items:
        return
    names = [n for it in items for n in it.labels] + [b[0] for it in items for b in it.boxes]
    labels = labels_ensure(dataset=dataset, names=names)
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

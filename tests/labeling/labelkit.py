"""Test data for the labelling, version and export tests: datasets and samples made
directly (inside the owner's scope) from datasets.demo_data files put in the store.

Shared by tests/versions and tests/export (import tests.labeling.labelkit)."""

from __future__ import annotations

import uuid

from django.conf import settings

from datasets import demo_data
from datasets.formats.voc import parse_voc
from datasets.models import Annotation, Dataset, Label, Sample, SourceObject
from exeml.task_types import TaskType

BUCKET = settings.EXEML_BUCKET


def root(actor) -> str:
    return actor.tenant.default_root  # s3://bucket/<slug>/


def make_dataset(actor, task_type: str, *, name: str | None = None) -> Dataset:
    base = root(actor) + f"ds-{uuid.uuid4().hex[:6]}/"
    with actor.scope():
        return Dataset.objects.create(
            name=name or f"ds{uuid.uuid4().hex[:6]}", task_type=task_type,
            input_path=base + "in/", output_path=base + "out/",
        )


def _key(uri: str) -> str:
    return uri.split("/", 3)[3]


def put(store, uri: str, data: bytes) -> None:
    store.put(BUCKET, _key(uri), data)


def add_file_sample(actor, store, dataset: Dataset, name: str, data: bytes, **fields) -> Sample:
    uri = dataset.input_path + name
    put(store, uri, data)
    with actor.scope():
        obj = SourceObject.objects.create(dataset=dataset, key=_key(uri), etag="e", size=len(data), status="imported")
        return Sample.objects.create(
            dataset=dataset, source_object=obj, source=uri, name=name, size=len(data), **fields
        )


def image_samples(actor, store, dataset: Dataset, n: int = 6) -> list[Sample]:
    files = [f for f in demo_data.image_classification_files(per_class=max(2, n // 3 + 1), size=32) if f[0].endswith(".jpg")][:n]
    return [add_file_sample(actor, store, dataset, k, b, width=32, height=32, format="jpeg") for k, b in files]


def detection_samples(actor, store, dataset: Dataset, n: int = 4, *, with_boxes: bool = False) -> list[Sample]:
    files = dict(demo_data.object_detection_files(n=n, size=160))
    samples = []
    for k in sorted(files):
        if not k.endswith(".jpg"):
            continue
        s = add_file_sample(actor, store, dataset, k, files[k], width=160, height=160, format="jpeg")
        put(store, dataset.input_path + k[:-4] + ".xml", files[k[:-4] + ".xml"])
        if with_boxes:
            voc = parse_voc(files[k[:-4] + ".xml"])
            label(actor, s, [(o.name, (o.xmin, o.ymin, o.xmax, o.ymax)) for o in voc.objects])
        samples.append(s)
    return samples


def sound_samples(actor, store, dataset: Dataset, n: int = 3) -> list[Sample]:
    files = [f for f in demo_data.sound_files(per_class=2, seconds=1.1, sr=8000) if f[0].endswith(".wav")][:n]
    return [add_file_sample(actor, store, dataset, k, b, duration=1.1, sample_rate=8000) for k, b in files]


def text_samples(actor, store, dataset: Dataset, lines: list[str], file: str = "reviews.txt") -> list[Sample]:
    uri = dataset.input_path + file
    data = ("\n".join(lines) + "\n").encode()
    put(store, uri, data)
    put(store, dataset.input_path + file.rsplit(".", 1)[0] + "_result.txt", b"")
    with actor.scope():
        obj = SourceObject.objects.create(dataset=dataset, key=_key(uri), etag="e", size=len(data), status="imported")
        return [
            Sample.objects.create(
                dataset=dataset, source_object=obj, source=uri, name=file, line_number=i, text=t
            )
            for i, t in enumerate(lines, start=1)
        ]


def label(actor, sample: Sample, labels, *, color: str = "#112233") -> None:
    """Label directly: ``labels`` is names, or (name, (xmin, ymin, xmax, ymax)) for boxes."""
    with actor.scope():
        Annotation.objects.filter(sample=sample).delete()
        for item in labels:
            name, box = (item, None) if isinstance(item, str) else item
            lb, _ = Label.objects.get_or_create(dataset=sample.dataset, name=name, defaults={"color": color})
            a = Annotation(sample=sample, label=lb)
            if box:
                a.xmin, a.ymin, a.xmax, a.ymax = box
            a.save()
        Sample.objects.filter(pk=sample.pk).update(labeled=bool(labels))
        sample.refresh_from_db()


def exists(store, uri: str) -> bool:
    return store.exists(BUCKET, _key(uri))


def read(store, uri: str) -> bytes:
    from exeml.storage import parse_storage_path

    p = parse_storage_path(uri)
    return store.read_bytes(p.bucket, p.key)


TYPES = TaskType

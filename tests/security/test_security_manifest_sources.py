"""Sources and annotation files named inside an imported manifest stay within the tenant's roots."""

from __future__ import annotations

import json

import pytest

from datasets.formats.voc import VocObject, write_voc
from datasets.models import Annotation, Dataset, Sample
from datasets.services import dataset_sync
from exeml.tenancy.scoping import unscoped
from tests.datasets.helpers import create_project, jpeg, put_files

pytestmark = pytest.mark.django_db


def _line(source: str, **extra) -> str:
    return json.dumps({"source": source, "usage": "TRAIN", **extra})


def _sync(actor, dataset_id):
    with actor.scope():
        return dataset_sync(dataset=Dataset.objects.get(pk=dataset_id))


def test_manifest_sources_cannot_escape_the_roots(owner, outsider):
    project, base = create_project(owner, "image_classification", files=[("a.jpg", jpeg())])
    theirs = outsider.tenant.default_root
    put_files(outsider.tenant, theirs, [("secret.jpg", jpeg())])
    label = [{"type": "modelarts/image_classification", "name": "cat", "annotated-by": "human"}]
    sources = [
        theirs + "secret.jpg",
        base + "../" + theirs.rstrip("/").rsplit("/", 1)[1] + "/secret.jpg",
        base + "%2e%2e/%2e%2e/" + theirs.rstrip("/").rsplit("/", 1)[1] + "/secret.jpg",
        base.replace("/", "\\") + "secret.jpg",
        "s3://another-bucket/secret.jpg",
        "file:///etc/passwd",
        "/etc/passwd",
    ]
    manifest = "\n".join(_line(s, annotation=label) for s in sources).encode()
    put_files(owner.tenant, base, [("evil.manifest", manifest)])
    job = _sync(owner, project["dataset"]["id"])
    with owner.scope():
        names = set(Sample.objects.filter(dataset_id=project["dataset"]["id"]).values_list("source", flat=True))
    assert names == {base + "a.jpg"}
    assert len([e for e in job.errors if "evil.manifest" in e["file"]]) == len(sources)
    with unscoped():
        assert not Sample.all_tenants.filter(source__contains="secret").exists()


def test_manifest_annotation_loc_cannot_read_another_tenants_file(owner, outsider):
    project, base = create_project(owner, "object_detection", files=[("a.jpg", jpeg((64, 64)))])
    theirs = outsider.tenant.default_root
    voc = write_voc(filename="a.jpg", width=64, height=64, objects=[VocObject(name="stolen", xmin=1, ymin=1,
                                                                               xmax=10, ymax=10)])
    put_files(outsider.tenant, theirs, [("a.xml", voc)])
    annotation = [{"type": "modelarts/object_detection", "annotation-loc": theirs + "a.xml",
                   "annotation-format": "PASCAL VOC", "annotated-by": "human"}]
    put_files(owner.tenant, base, [("evil.manifest", _line(base + "a.jpg", annotation=annotation).encode())])
    job = _sync(owner, project["dataset"]["id"])
    assert any("outside your storage roots" in e["reason"] for e in job.errors)
    with owner.scope():
        assert not Annotation.objects.filter(label__name="stolen").exists()

"""Upload file names exactly as a hostile client sends them (no client-side basename)."""

from __future__ import annotations

import pytest

from datasets import demo_data
from datasets.models import Sample
from tests.labeling.labelkit import make_dataset

pytestmark = pytest.mark.django_db

BOUNDARY = "xxBOUNDARYxx"


def _multipart(name: str, data: bytes) -> bytes:
    head = (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{name}\"\r\n"
            "Content-Type: image/jpeg\r\n\r\n").encode("utf-8", "surrogateescape")
    return head + data + f"\r\n--{BOUNDARY}--\r\n".encode()


@pytest.mark.parametrize("name", [
    "../escape.jpg", "..\\\\escape.jpg", "a/../../escape.jpg", "/abs/escape.jpg", "C:\\\\escape.jpg",
    "..%2fescape.jpg", "%2e%2e%2fescape.jpg", "a" * 300 + ".jpg",
])
def test_hostile_upload_names_are_rejected_and_nothing_is_written(owner, store, name):
    dataset = make_dataset(owner, "image_classification")
    jpg = next(b for k, b in demo_data.image_classification_files(per_class=1, size=32) if k.endswith(".jpg"))
    r = owner.client.generic("POST", f"/api/v1/datasets/{dataset.pk}/samples", _multipart(name, jpg),
                             content_type=f"multipart/form-data; boundary={BOUNDARY}")
    assert r.status_code == 400, r.content  # its only file refused
    assert r.json()["accepted"] == [] and len(r.json()["rejected"]) == 1, r.json()
    with owner.scope():
        assert not Sample.objects.filter(dataset=dataset).exists()
    written = [o.key for o in store.iter_objects("exeml", owner.tenant.slug + "/")]
    assert not any("escape" in key or "aaaa" in key for key in written), written


def test_sync_reports_an_unsafe_key_and_imports_the_rest(owner):
    from datasets.services import dataset_sync
    from tests.datasets.helpers import create_project, jpeg, put_files

    project, base = create_project(owner, "image_classification", files=[("a.jpg", jpeg())])
    put_files(owner.tenant, base, [("%2e%2e%2fescape.jpg", jpeg()), ("b.jpg", jpeg())])
    with owner.scope():
        from datasets.models import Dataset

        job = dataset_sync(dataset=Dataset.objects.get(pk=project["dataset"]["id"]))
        names = set(Sample.objects.filter(dataset_id=project["dataset"]["id"]).values_list("name", flat=True))
    assert job.status == "succeeded", job.detail
    assert names == {"a.jpg", "b.jpg"}
    assert any("escape" in e["file"] for e in job.errors)

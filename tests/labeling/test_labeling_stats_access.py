"""Label statistics / train preconditions, and access rules on every labelling route."""

from __future__ import annotations

import uuid

import pytest

from datasets import demo_data
from datasets.models import DatasetVersion, Label
from exeml.task_types import TaskType
from labeling.stats import label_stats, train_preconditions
from tests.labeling.labelkit import (
    detection_samples,
    image_samples,
    label,
    make_dataset,
    put,
    text_samples,
)

pytestmark = pytest.mark.django_db


def test_image_preconditions_and_stats(owner, store):
    ds = make_dataset(owner, TaskType.IMAGE_CLASSIFICATION)
    samples = image_samples(owner, store, ds, n=11)
    for s in samples[:5]:
        label(owner, s, ["cat"])
    for s in samples[5:9]:
        label(owner, s, ["dog"])
    with owner.scope():
        reasons = train_preconditions(dataset=ds, task_type=ds.task_type)
        assert len(reasons) == 1 and "dog (4)" in reasons[0]
        label(owner, samples[9], ["dog"])
        assert train_preconditions(dataset=ds, task_type=ds.task_type) == []
    r = owner.client.get(f"/api/v1/datasets/{ds.pk}/label-stats")
    assert r.status_code == 200
    body = r.json()
    assert body["labels"] == [{"name": "cat", "color": "#112233", "count": 5},
                              {"name": "dog", "color": "#112233", "count": 5}]
    assert (body["labeled"], body["unlabeled"]) == (10, 1)
    assert body["train_ready"] == {"ok": True, "reasons": []}


def test_text_needs_more_than_twenty(owner, store):
    ds = make_dataset(owner, TaskType.TEXT_CLASSIFICATION)
    samples = text_samples(owner, store, ds, [f"text {i}" for i in range(42)])
    for i, s in enumerate(samples):
        label(owner, s, ["pos" if i % 2 else "neg"])
    with owner.scope():
        assert train_preconditions(dataset=ds, task_type=ds.task_type) == []
        label(owner, samples[0], [])
        reasons = train_preconditions(dataset=ds, task_type=ds.task_type)
    assert len(reasons) == 1 and "neg (20)" in reasons[0]


def test_detection_and_tabular(owner, store):
    ds = make_dataset(owner, TaskType.OBJECT_DETECTION)
    with owner.scope():
        assert train_preconditions(dataset=ds, task_type=ds.task_type) == ["label at least one image with boxes"]
    detection_samples(owner, store, ds, n=2, with_boxes=True)
    with owner.scope():
        assert train_preconditions(dataset=ds, task_type=ds.task_type) == []
        Label.objects.create(dataset=ds, name="unused", color="#000000")
        (reason,) = train_preconditions(dataset=ds, task_type=ds.task_type)
        assert "unused" in reason
        assert label_stats(dataset=ds)["train_ready"]["ok"] is False

    tab = make_dataset(owner, TaskType.PREDICTIVE_ANALYTICS)
    put(store, tab.input_path + "t.csv", demo_data.tabular_csv(rows=200, kind="binary"))
    with owner.scope():
        tab.csv_path = tab.input_path + "t.csv"
        tab.save()
        assert train_preconditions(dataset=tab, task_type=tab.task_type) == ["choose the label column"]
        assert train_preconditions(
            dataset=tab, task_type=tab.task_type, label_column="attr_8", label_type="discrete"
        ) == []
        (reason,) = train_preconditions(
            dataset=tab, task_type=tab.task_type, label_column="attr_2", label_type="continuous"
        )
        assert "attr_2" in reason


def _routes(ds, sample, version, name="cat"):
    d = f"/api/v1/datasets/{ds.pk}"
    job = uuid.uuid4()
    return [
        ("get", f"{d}/labels", None),
        ("post", f"{d}/labels", {"name": "new"}),
        ("patch", f"{d}/labels/{name}", {"name": "renamed"}),
        ("delete", f"{d}/labels/{name}", None),
        ("get", f"{d}/samples/{sample.pk}/annotations", None),
        ("put", f"{d}/samples/{sample.pk}/annotations", {"labels": ["x"]}),
        ("post", f"{d}/annotations/batch", {"sample_ids": [str(sample.pk)], "add": ["x"]}),
        ("get", f"{d}/versions", None),
        ("post", f"{d}/versions", {}),
        ("get", f"{d}/versions/{version.pk}", None),
        ("get", f"{d}/exports", None),
        ("post", f"{d}/exports", {"format": "folders"}),
        ("get", f"{d}/exports/{job}/download", None),
        ("get", f"{d}/label-stats", None),
    ]


def _setup(owner, store):
    ds = make_dataset(owner, TaskType.IMAGE_CLASSIFICATION)
    samples = image_samples(owner, store, ds, n=2)
    label(owner, samples[0], ["cat"])
    label(owner, samples[1], ["dog"])
    with owner.scope():
        from datasets.versioning import dataset_version_publish

        version = dataset_version_publish(dataset=ds)
    return ds, samples[0], version


def test_other_tenant_gets_404_everywhere(owner, outsider, store):
    ds, sample, version = _setup(owner, store)
    for method, url, body in _routes(ds, sample, version):
        r = getattr(outsider.client, method)(url, body, format="json")
        assert r.status_code == 404, (method, url, r.status_code)
    # and the owner's data is untouched
    with owner.scope():
        assert Label.objects.filter(dataset=ds, name="cat").exists()
        assert DatasetVersion.objects.filter(dataset=ds).count() == 1
    # a sample/version of another dataset of the same tenant is 404 too
    other_ds, other_sample, other_version = _setup(owner, store)
    d = f"/api/v1/datasets/{ds.pk}"
    assert owner.client.get(f"{d}/samples/{other_sample.pk}/annotations").status_code == 404
    assert owner.client.put(f"{d}/samples/{other_sample.pk}/annotations", {"labels": ["x"]},
                            format="json").status_code == 404
    assert owner.client.get(f"{d}/versions/{other_version.pk}").status_code == 404
    r = owner.client.post(f"{d}/exports", {"format": "folders", "version": str(other_version.pk)}, format="json")
    assert r.status_code == 404


def test_viewer_reads_but_cannot_write(viewer, owner, store):
    ds, sample, version = _setup(owner, store)
    for method, url, body in _routes(ds, sample, version):
        r = getattr(viewer.client, method)(url, body, format="json")
        if method == "get":
            assert r.status_code in (200, 404), (url, r.status_code)  # 404: the random export job
        else:
            assert r.status_code == 403, (method, url, r.status_code)
    with owner.scope():
        assert Label.objects.filter(dataset=ds, name="cat").exists()
        assert sample.annotations.count() == 1


def test_schema_renders(owner):
    r = owner.client.get("/api/schema/")
    assert r.status_code == 200
    text = r.content.decode()
    for path in ("/labels/{name}", "/annotations/batch", "/versions/{version_id}", "/exports/{job_id}/download",
                 "/label-stats", "/samples/{sample_id}/annotations"):
        assert path in text


def test_one_rule_book_for_label_stats_the_live_dataset_and_a_frozen_version(owner, store):
    ds = make_dataset(owner, TaskType.IMAGE_CLASSIFICATION)
    samples = image_samples(owner, store, ds, n=9)
    for s in samples[:5]:
        label(owner, s, ["cat"])
    for s in samples[5:]:
        label(owner, s, ["dog"])
    r = owner.client.post(f"/api/v1/datasets/{ds.pk}/versions", {"train_ratio": 0.8}, format="json")
    assert r.status_code == 201, r.content
    with owner.scope():
        version = DatasetVersion.objects.get(pk=r.json()["id"])
        live = train_preconditions(dataset=ds, task_type=ds.task_type)
        frozen = train_preconditions(dataset=ds, task_type=ds.task_type, version=version)
        shown = label_stats(dataset=ds)["train_ready"]["reasons"]
    assert live == frozen == shown == ["each class needs at least 5 labelled samples; too few: dog (4)"]

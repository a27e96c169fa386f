"""Annotations through the API for every type, If-Match concurrency, batch labelling."""

from __future__ import annotations

import threading
import uuid

import pytest

from datasets.models import Annotation, Label, Sample
from exeml.task_types import TaskType
from tests.labeling.labelkit import (
    detection_samples,
    image_samples,
    label,
    make_dataset,
    sound_samples,
    text_samples,
)

pytestmark = pytest.mark.django_db


def ann_url(s) -> str:
    return f"/api/v1/datasets/{s.dataset_id}/samples/{s.pk}/annotations"


def batch_url(ds) -> str:
    return f"/api/v1/datasets/{ds.pk}/annotations/batch"


def test_image_labels_put_and_unlabel(owner, store):
    ds = make_dataset(owner, TaskType.IMAGE_CLASSIFICATION)
    s = image_samples(owner, store, ds, n=1)[0]
    r = owner.client.put(ann_url(s), {"labels": ["cat", "pet"]}, format="json")
    assert r.status_code == 200, r.json()
    body = r.json()
    assert body["labels"] == ["cat", "pet"] and body["labeled"] is True and body["revision"] == 2
    assert body["id"] == str(s.pk) and body["source"] == s.source and body["objects"] == []
    assert r["ETag"] == '"2"'
    with owner.scope():
        anns = list(Annotation.objects.filter(sample=s))
        assert {a.created_by_id for a in anns} == {owner.user.pk}
        assert {a.annotated_by for a in anns} == {"human"}
        assert set(Label.objects.filter(dataset=ds).values_list("name", flat=True)) == {"cat", "pet"}
    r = owner.client.put(ann_url(s), {"labels": []}, format="json")
    assert r.status_code == 200 and r.json()["labeled"] is False and r.json()["labels"] == []
    assert owner.client.put(ann_url(s), {"labels": ["a b"]}, format="json").status_code == 400
    assert owner.client.put(ann_url(s), {}, format="json").status_code == 400


def test_unchanged_annotations_keep_their_origin(owner, store):
    ds = make_dataset(owner, TaskType.IMAGE_CLASSIFICATION)
    s = image_samples(owner, store, ds, n=1)[0]
    with owner.scope():
        from labeling import services

        services.sample_annotations_set(
            dataset=ds, sample_id=s.pk, labels=["cat"], annotated_by="modelarts/active-learning", confidence=0.7
        )
    r = owner.client.put(ann_url(s), {"labels": ["cat", "dog"]}, format="json")
    assert r.status_code == 200
    with owner.scope():
        by = dict(Annotation.objects.filter(sample=s).values_list("label__name", "annotated_by"))
    assert by == {"cat": "modelarts/active-learning", "dog": "human"}


def test_detection_boxes_and_bounds(owner, store):
    ds = make_dataset(owner, TaskType.OBJECT_DETECTION)
    s = detection_samples(owner, store, ds, n=1)[0]  # 160x160
    objects = [{"label": "car", "bbox": [10, 20, 50, 60]}, {"label": "bus", "bbox": [0, 0, 160, 160]}]
    r = owner.client.put(ann_url(s), {"objects": objects}, format="json")
    assert r.status_code == 200, r.json()
    assert sorted(r.json()["labels"]) == ["bus", "car"]
    assert sorted((o["label"], o["bbox"]) for o in r.json()["objects"]) == [
        ("bus", [0, 0, 160, 160]), ("car", [10, 20, 50, 60])
    ]
    with owner.scope():
        colors = dict(Label.objects.filter(dataset=ds).values_list("name", "color"))
    assert all(c.startswith("#") and len(c) == 7 for c in colors.values()) and len(set(colors.values())) == 2

    for bad in ([10, 20, 161, 60], [-1, 0, 5, 5], [50, 20, 10, 60], [0, 30, 5, 30], [1, 2, 3]):
        r = owner.client.put(ann_url(s), {"objects": [{"label": "car", "bbox": bad}]}, format="json")
        assert r.status_code == 400 and "objects" in r.json(), bad
    r = owner.client.put(ann_url(s), {"labels": ["car"]}, format="json")
    assert r.status_code == 400
    with owner.scope():
        assert Annotation.objects.filter(sample=s).count() == 2  # failed requests wrote nothing
    r = owner.client.put(ann_url(s), {"objects": []}, format="json")
    assert r.status_code == 200 and r.json()["labeled"] is False


@pytest.mark.parametrize("task_type", [TaskType.SOUND_CLASSIFICATION, TaskType.TEXT_CLASSIFICATION])
def test_single_label_types(owner, store, task_type):
    ds = make_dataset(owner, task_type)
    if task_type == TaskType.SOUND_CLASSIFICATION:
        s = sound_samples(owner, store, ds, n=1)[0]
    else:
        s = text_samples(owner, store, ds, ["I love it", "meh"])[0]
    r = owner.client.put(ann_url(s), {"labels": ["a", "b"]}, format="json")
    assert r.status_code == 400 and "labels" in r.json()
    r = owner.client.put(ann_url(s), {"labels": ["good"]}, format="json")
    assert r.status_code == 200 and r.json()["labels"] == ["good"]
    r = owner.client.put(ann_url(s), {"labels": ["bad"]}, format="json")
    assert r.status_code == 200 and r.json()["labels"] == ["bad"]
    if task_type == TaskType.TEXT_CLASSIFICATION:
        assert r.json()["text"] == "I love it"
        with owner.scope():
            assert Label.objects.get(dataset=ds, name="bad").color  # text labels need a color


def test_tabular_has_no_annotations(owner, store):
    ds = make_dataset(owner, TaskType.PREDICTIVE_ANALYTICS)
    with owner.scope():
        s = Sample.objects.create(dataset=ds, source=ds.input_path + "t.csv", name="t.csv")
    assert owner.client.put(ann_url(s), {"labels": ["x"]}, format="json").status_code == 400


def test_if_match_stale_revision_conflicts(owner, store):
    ds = make_dataset(owner, TaskType.IMAGE_CLASSIFICATION)
    s = image_samples(owner, store, ds, n=1)[0]
    r = owner.client.put(ann_url(s), {"labels": ["cat"]}, format="json", HTTP_IF_MATCH="1")
    assert r.status_code == 200 and r.json()["revision"] == 2
    r = owner.client.put(ann_url(s), {"labels": ["dog"]}, format="json", HTTP_IF_MATCH='"1"')
    assert r.status_code == 409
    body = r.json()
    assert body["status"] == "conflict" and body["detail"]
    assert body["current"]["labels"] == ["cat"] and body["current"]["revision"] == 2
    r = owner.client.put(ann_url(s), {"labels": ["dog"]}, format="json", HTTP_IF_MATCH='W/"2"')
    assert r.status_code == 200 and r.json()["labels"] == ["dog"] and r.json()["revision"] == 3
    assert owner.client.put(ann_url(s), {"labels": ["x"]}, format="json", HTTP_IF_MATCH="abc").status_code == 400


@pytest.mark.django_db(transaction=True)
def test_two_clients_same_revision_exactly_one_wins(owner, member, store):
    ds = make_dataset(owner, TaskType.IMAGE_CLASSIFICATION)
    s = image_samples(owner, store, ds, n=1)[0]
    from django.db import connection

    for round_no in range(3):
        with owner.scope():
            revision = Sample.objects.get(pk=s.pk).revision
        barrier = threading.Barrier(2)
        results: dict[str, object] = {}

        def put(actor, name: str, _rev=revision, _barrier=barrier, _results=results) -> None:
            try:
                _barrier.wait(5)
                resp = actor.client.put(
                    ann_url(s), {"labels": [name]}, format="json", HTTP_IF_MATCH=str(_rev)
                )
                _results[name] = (resp.status_code, resp.json())
            finally:
                connection.close()

        threads = [
            threading.Thread(target=put, args=(owner, f"a{round_no}")),
            threading.Thread(target=put, args=(member, f"b{round_no}")),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        codes = sorted(code for code, _ in results.values())
        assert codes == [200, 409], results
        winner = next(name for name, (code, _) in results.items() if code == 200)
        loser_body = next(body for code, body in results.values() if code == 409)
        with owner.scope():
            fresh = Sample.objects.get(pk=s.pk)
            names = list(Annotation.objects.filter(sample=s).values_list("label__name", flat=True))
        assert fresh.revision == revision + 1
        assert names == [winner]  # the winner's write stands, nothing of the loser's
        assert loser_body["current"]["labels"] == [winner]


def test_batch_image_add_remove(owner, store):
    ds = make_dataset(owner, TaskType.IMAGE_CLASSIFICATION)
    samples = image_samples(owner, store, ds, n=3)
    label(owner, samples[0], ["old"])
    ids = [str(s.pk) for s in samples]
    r = owner.client.post(batch_url(ds), {"sample_ids": ids, "add": ["cat", "pet"], "remove": ["old"]}, format="json")
    assert r.status_code == 200, r.json()
    assert r.json()["updated"] == 3
    assert all(x["labels"] == ["cat", "pet"] and x["labeled"] for x in r.json()["samples"])
    r = owner.client.post(batch_url(ds), {"sample_ids": ids[:1], "remove": ["cat", "pet"]}, format="json")
    assert r.status_code == 200
    with owner.scope():
        fresh = {x.pk: x for x in Sample.objects.filter(dataset=ds)}
    assert fresh[samples[0].pk].labeled is False and fresh[samples[1].pk].labeled is True
    assert fresh[samples[0].pk].revision == samples[0].revision + 2


def test_batch_single_label_replaces(owner, store):
    ds = make_dataset(owner, TaskType.SOUND_CLASSIFICATION)
    samples = sound_samples(owner, store, ds, n=3)
    label(owner, samples[0], ["tone"])
    ids = [str(s.pk) for s in samples]
    r = owner.client.post(batch_url(ds), {"sample_ids": ids, "add": ["a", "b"]}, format="json")
    assert r.status_code == 400 and "add" in r.json()
    r = owner.client.post(batch_url(ds), {"sample_ids": ids, "add": ["noise"]}, format="json")
    assert r.status_code == 200
    assert [x["labels"] for x in r.json()["samples"]] == [["noise"]] * 3


def test_batch_foreign_ids_write_nothing(owner, outsider, store):
    ds = make_dataset(owner, TaskType.IMAGE_CLASSIFICATION)
    other_ds = make_dataset(owner, TaskType.IMAGE_CLASSIFICATION)
    mine = image_samples(owner, store, ds, n=2)
    other = image_samples(owner, store, other_ds, n=1)
    foreign_ds = make_dataset(outsider, TaskType.IMAGE_CLASSIFICATION)
    foreign = image_samples(outsider, store, foreign_ds, n=1)
    for stranger in (other[0], foreign[0]):
        ids = [str(mine[0].pk), str(stranger.pk)]
        r = owner.client.post(batch_url(ds), {"sample_ids": ids, "add": ["cat"]}, format="json")
        assert r.status_code == 400 and "sample_ids" in r.json()
    with owner.scope():
        assert not Annotation.objects.filter(sample__dataset=ds).exists()
        assert Sample.objects.get(pk=mine[0].pk).revision == 1
    too_many = [str(uuid.uuid4()) for _ in range(1001)]
    r = owner.client.post(batch_url(ds), {"sample_ids": too_many, "add": ["cat"]}, format="json")
    assert r.status_code == 400 and "sample_ids" in r.json()

"""Labels through the API: create rules, counts, rename, the three delete modes."""

from __future__ import annotations

import pytest

from datasets.models import Annotation, Label, Sample, SourceObject
from exeml.task_types import TaskType
from tests.labeling.labelkit import (
    add_file_sample,
    detection_samples,
    exists,
    image_samples,
    label,
    make_dataset,
    text_samples,
)

pytestmark = pytest.mark.django_db


def url(ds, *rest: str) -> str:
    return "/".join([f"/api/v1/datasets/{ds.pk}", *rest])


def test_create_checks_name_color_and_shortcut(owner):
    det = make_dataset(owner, TaskType.OBJECT_DETECTION)
    r = owner.client.post(url(det, "labels"), {"name": "car"}, format="json")
    assert r.status_code == 400 and "color" in r.json()
    r = owner.client.post(url(det, "labels"), {"name": "car", "color": "red"}, format="json")
    assert r.status_code == 400 and "color" in r.json()
    r = owner.client.post(url(det, "labels"), {"name": "car", "color": "#FF0000"}, format="json")
    assert r.status_code == 201, r.json()
    assert r.json()["color"] == "#ff0000" and r.json()["count"] == 0
    r = owner.client.post(url(det, "labels"), {"name": "car", "color": "#00ff00"}, format="json")
    assert r.status_code == 400 and "name" in r.json()
    r = owner.client.post(url(det, "labels"), {"name": "two words", "color": "#00ff00"}, format="json")
    assert r.status_code == 400 and "name" in r.json()
    r = owner.client.post(url(det, "labels"), {"name": "x" * 33, "color": "#00ff00"}, format="json")
    assert r.status_code == 400 and "name" in r.json()

    img = make_dataset(owner, TaskType.IMAGE_CLASSIFICATION)
    assert owner.client.post(url(img, "labels"), {"name": "猫"}, format="json").status_code == 201

    snd = make_dataset(owner, TaskType.SOUND_CLASSIFICATION)
    assert owner.client.post(url(snd, "labels"), {"name": "dog", "shortcut": "d"}, format="json").status_code == 201
    r = owner.client.post(url(snd, "labels"), {"name": "duck", "shortcut": "D"}, format="json")
    assert r.status_code == 400 and "shortcut" in r.json()
    r = owner.client.post(url(snd, "labels"), {"name": "duck", "shortcut": "du"}, format="json")
    assert r.status_code == 400 and "shortcut" in r.json()
    r = owner.client.patch(url(snd, "labels", "dog"), {"shortcut": "g"}, format="json")
    assert r.status_code == 200 and r.json()["shortcut"] == "g"


def test_list_counts_distinct_samples_in_constant_queries(owner, store):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    ds = make_dataset(owner, TaskType.OBJECT_DETECTION)
    a, b, c = detection_samples(owner, store, ds, n=3)
    label(owner, a, [("car", (1, 1, 5, 5)), ("car", (6, 6, 9, 9)), ("bus", (1, 1, 3, 3))])
    label(owner, b, [("car", (1, 1, 5, 5))])
    with owner.scope():
        Label.objects.create(dataset=ds, name="tram", color="#000000")
    with CaptureQueriesContext(connection) as few:
        r = owner.client.get(url(ds, "labels"))
    assert {x["name"]: x["count"] for x in r.json()["results"]} == {"bus": 1, "car": 2, "tram": 0}
    label(owner, c, [("tram", (1, 1, 5, 5)), ("ship", (2, 2, 4, 4)), ("boat", (2, 2, 5, 5))])
    with CaptureQueriesContext(connection) as more:
        r = owner.client.get(url(ds, "labels"))
    assert r.json()["count"] == 5 and len(r.json()["results"]) == 5
    assert len(more) <= len(few)  # the first request also stamps the token's last use
    assert sum("datasets_label" in q["sql"] for q in more.captured_queries) == 1


def test_rename_keeps_every_sample_label_and_refuses_clash(owner, store):
    ds = make_dataset(owner, TaskType.IMAGE_CLASSIFICATION)
    samples = image_samples(owner, store, ds, n=4)
    for s in samples[:3]:
        label(owner, s, ["cat", "pet"])
    label(owner, samples[3], ["dog"])
    before = {s.pk: s.revision for s in samples}
    r = owner.client.patch(url(ds, "labels", "cat"), {"name": "kitten", "color": "#abcdef"}, format="json")
    assert r.status_code == 200, r.json()
    assert r.json()["name"] == "kitten" and r.json()["count"] == 3
    with owner.scope():
        for s in samples[:3]:
            names = set(Annotation.objects.filter(sample=s).values_list("label__name", flat=True))
            assert names == {"kitten", "pet"}
            assert Sample.objects.get(pk=s.pk).revision == before[s.pk] + 1
        assert Sample.objects.get(pk=samples[3].pk).revision == before[samples[3].pk]
        assert not Label.objects.filter(dataset=ds, name="cat").exists()
    r = owner.client.patch(url(ds, "labels", "kitten"), {"name": "dog"}, format="json")
    assert r.status_code == 400 and "name" in r.json()
    r = owner.client.patch(url(ds, "labels", "kitten"), {"name": "bad name"}, format="json")
    assert r.status_code == 400 and "name" in r.json()
    assert owner.client.patch(url(ds, "labels", "nope"), {"name": "x"}, format="json").status_code == 404
    r = owner.client.get(url(ds, "samples", str(samples[0].pk), "annotations"))
    assert r.json()["labels"] == ["kitten", "pet"]


def _image_setup(owner, store):
    ds = make_dataset(owner, TaskType.IMAGE_CLASSIFICATION)
    only_cat, cat_dog, only_dog, none = image_samples(owner, store, ds, n=4)
    label(owner, only_cat, ["cat"])
    label(owner, cat_dog, ["cat", "dog"])
    label(owner, only_dog, ["dog"])
    for s in (only_cat, cat_dog):  # an imported labels file beside the image
        add_label_txt = s.source[:-4] + ".txt"
        store.put("exeml", add_label_txt.split("/", 3)[3], b"cat\n")
    return ds, only_cat, cat_dog, only_dog, none


def test_delete_label_only(owner, store):
    ds, only_cat, cat_dog, only_dog, none = _image_setup(owner, store)
    r = owner.client.delete(url(ds, "labels", "cat") + "?mode=label_only")
    assert r.status_code == 200, r.json()
    assert r.json()["annotations_deleted"] == 2 and r.json()["samples_deleted"] == 0
    with owner.scope():
        assert Sample.objects.filter(dataset=ds).count() == 4
        assert not Label.objects.filter(dataset=ds, name="cat").exists()
        fresh = {s.pk: s for s in Sample.objects.filter(dataset=ds)}
    assert fresh[only_cat.pk].labeled is False and fresh[only_cat.pk].revision == only_cat.revision + 1
    assert fresh[cat_dog.pk].labeled is True
    assert fresh[only_dog.pk].revision == only_dog.revision
    assert exists(store, only_cat.source)


def test_delete_label_and_samples_keeps_files(owner, store):
    ds, only_cat, cat_dog, only_dog, none = _image_setup(owner, store)
    r = owner.client.delete(url(ds, "labels", "cat") + "?mode=label_and_samples")
    assert r.status_code == 200, r.json()
    assert r.json()["samples_deleted"] == 1 and r.json()["files_deleted"] == []
    with owner.scope():
        left = set(Sample.objects.filter(dataset=ds).values_list("pk", flat=True))
        assert left == {cat_dog.pk, only_dog.pk, none.pk}
        assert list(Annotation.objects.filter(sample=cat_dog).values_list("label__name", flat=True)) == ["dog"]
    assert exists(store, only_cat.source)


def test_delete_label_samples_and_files(owner, store):
    ds, only_cat, cat_dog, only_dog, none = _image_setup(owner, store)
    r = owner.client.delete(url(ds, "labels", "cat") + "?mode=label_and_samples_and_files")
    assert r.status_code == 200, r.json()
    body = r.json()
    assert body["samples_deleted"] == 1 and body["storage_errors"] == []
    assert only_cat.source in body["files_deleted"]
    assert not exists(store, only_cat.source)
    assert not exists(store, only_cat.source[:-4] + ".txt")
    assert exists(store, cat_dog.source) and exists(store, cat_dog.source[:-4] + ".txt")
    with owner.scope():
        assert not Sample.objects.filter(pk=only_cat.pk).exists()
        assert not SourceObject.objects.filter(dataset=ds, key=only_cat.source.split("/", 3)[3]).exists()
        assert Sample.objects.filter(dataset=ds).count() == 3


def test_delete_text_file_only_when_all_its_lines_go(owner, store):
    ds = make_dataset(owner, TaskType.TEXT_CLASSIFICATION)
    shared = text_samples(owner, store, ds, ["good one", "bad one"], file="mixed.txt")
    alone = text_samples(owner, store, ds, ["spam a", "spam b"], file="spam.txt")
    label(owner, shared[0], ["spam"])
    label(owner, shared[1], ["ham"])
    for s in alone:
        label(owner, s, ["spam"])
    r = owner.client.delete(url(ds, "labels", "spam") + "?mode=label_and_samples_and_files")
    assert r.status_code == 200, r.json()
    body = r.json()
    assert body["samples_deleted"] == 3
    assert [k["file"] for k in body["files_kept"]] == [shared[0].source]
    assert not exists(store, alone[0].source)
    assert not exists(store, alone[0].source.replace("spam.txt", "spam_result.txt"))
    assert exists(store, shared[0].source)
    with owner.scope():
        assert list(Sample.objects.filter(dataset=ds).values_list("pk", flat=True)) == [shared[1].pk]


def test_delete_is_all_or_nothing(owner, store, monkeypatch):
    ds, only_cat, cat_dog, only_dog, none = _image_setup(owner, store)
    from labeling import labels

    def boom(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(labels, "_files_of", boom)
    with pytest.raises(RuntimeError), owner.scope():
        labels.label_delete(dataset=ds, name="cat", mode="label_and_samples_and_files")
    with owner.scope():
        assert Label.objects.filter(dataset=ds, name="cat").exists()
        assert Annotation.objects.filter(label__name="cat").count() == 2
        assert Sample.objects.filter(dataset=ds).count() == 4
    assert exists(store, only_cat.source)


def test_delete_bad_mode_and_unknown_label(owner, store):
    ds = make_dataset(owner, TaskType.IMAGE_CLASSIFICATION)
    add_file_sample(owner, store, ds, "a.jpg", b"x")
    with owner.scope():
        Label.objects.create(dataset=ds, name="cat")
    r = owner.client.delete(url(ds, "labels", "cat") + "?mode=everything")
    assert r.status_code == 400 and "mode" in r.json()
    assert owner.client.delete(url(ds, "labels", "dog")).status_code == 404

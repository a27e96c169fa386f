"""Single-label and multi-label image projects: what the annotation API and batch labelling
accept, changing the mode later, and the migration that chose the mode of existing projects."""

from __future__ import annotations

import importlib
import uuid

import pytest
from django.apps import apps

from exeml.task_types import TaskType
from projects.models import Project
from tests.labeling.labelkit import detection_samples, image_samples, label, make_dataset, sound_samples

pytestmark = pytest.mark.django_db


def ann_url(s) -> str:
    return f"/api/v1/datasets/{s.dataset_id}/samples/{s.pk}/annotations"


def batch_url(ds) -> str:
    return f"/api/v1/datasets/{ds.pk}/annotations/batch"


def project_on(actor, ds, **over) -> dict:
    body = {"name": "p" + uuid.uuid4().hex[:6], "type": ds.task_type, "dataset": {"source": "specify", "id": str(ds.pk)}}
    body.update(over)
    r = actor.client.post("/api/v1/projects", body, format="json")
    assert r.status_code == 201, r.json()
    return r.json()


def conflict(r) -> bool:
    """409 naming the field and how many samples are in the way."""
    body = r.json()
    return r.status_code == 409 and body["field"] == "multi_label" and body["samples"] == 2 and "2 samples" in body["detail"]


def labels_of(actor, s) -> list[str]:
    return actor.client.get(ann_url(s)).json()["labels"]


def test_single_label_image_refuses_a_second_label_and_replaces(owner, store):
    ds = make_dataset(owner, TaskType.IMAGE_CLASSIFICATION)
    samples = image_samples(owner, store, ds, n=3)
    project = project_on(owner, ds)
    assert project["multi_label"] is False
    assert owner.client.get(f"/api/v1/projects/{project['id']}").json()["multi_label"] is False
    s = samples[0]
    r = owner.client.put(ann_url(s), {"labels": ["cat", "dog"]}, format="json")
    assert r.status_code == 400 and "single-label" in r.json()["labels"][0], r.json()
    assert labels_of(owner, s) == []  # nothing half-written
    assert owner.client.put(ann_url(s), {"labels": ["cat"]}, format="json").status_code == 200
    r = owner.client.put(ann_url(s), {"labels": ["dog"]}, format="json")
    assert r.status_code == 200 and r.json()["labels"] == ["dog"]
    # Batch: two labels refused; one label replaces what each sample had (a number key on the Labeled tab).
    ids = [str(x.pk) for x in samples]
    r = owner.client.post(batch_url(ds), {"sample_ids": ids, "add": ["cat", "dog"]}, format="json")
    assert r.status_code == 400 and "add" in r.json()
    r = owner.client.post(batch_url(ds), {"sample_ids": ids, "add": ["cat"]}, format="json")
    assert r.status_code == 200
    assert [x["labels"] for x in r.json()["samples"]] == [["cat"]] * 3


def test_multi_label_image_keeps_toggling(owner, store):
    ds = make_dataset(owner, TaskType.IMAGE_CLASSIFICATION)
    samples = image_samples(owner, store, ds, n=2)
    assert project_on(owner, ds, multi_label=True)["multi_label"] is True
    s = samples[0]
    r = owner.client.put(ann_url(s), {"labels": ["cat", "pet"]}, format="json")
    assert r.status_code == 200 and r.json()["labels"] == ["cat", "pet"]
    ids = [str(x.pk) for x in samples]
    r = owner.client.post(batch_url(ds), {"sample_ids": ids, "add": ["cute"]}, format="json")
    assert r.status_code == 200
    assert [sorted(x["labels"]) for x in r.json()["samples"]] == sorted([["cat", "cute", "pet"], ["cute"]])
    r = owner.client.post(batch_url(ds), {"sample_ids": ids[:1], "remove": ["cute"]}, format="json")
    assert r.status_code == 200 and r.json()["samples"][0]["labels"] == ["cat", "pet"]


def test_mode_changes_only_when_the_data_agrees(owner, store):
    ds = make_dataset(owner, TaskType.IMAGE_CLASSIFICATION)
    samples = image_samples(owner, store, ds, n=3)
    label(owner, samples[0], ["cat", "pet"])
    label(owner, samples[1], ["dog", "pet"])
    # Specifying a dataset whose samples carry several labels: multi-label unless asked otherwise.
    r = owner.client.post("/api/v1/projects", {
        "name": "p" + uuid.uuid4().hex[:6], "type": "image_classification",
        "dataset": {"source": "specify", "id": str(ds.pk)}, "multi_label": False,
    }, format="json")
    assert conflict(r), r.json()
    project = project_on(owner, ds)
    assert project["multi_label"] is True
    url = f"/api/v1/projects/{project['id']}"
    r = owner.client.patch(url, {"multi_label": False}, format="json")
    assert conflict(r), r.json()
    assert owner.client.get(url).json()["multi_label"] is True
    for s in samples[:2]:
        assert owner.client.put(ann_url(s), {"labels": ["pet"]}, format="json").status_code == 200
    r = owner.client.patch(url, {"multi_label": False}, format="json")
    assert r.status_code == 200 and r.json()["multi_label"] is False
    assert owner.client.put(ann_url(samples[2]), {"labels": ["a", "b"]}, format="json").status_code == 400
    assert owner.client.patch(url, {"multi_label": True}, format="json").json()["multi_label"] is True
    assert owner.client.put(ann_url(samples[2]), {"labels": ["a", "b"]}, format="json").status_code == 200


def test_only_image_projects_are_multi_label(owner, store):
    ds = make_dataset(owner, TaskType.SOUND_CLASSIFICATION)
    sound_samples(owner, store, ds, n=1)
    r = owner.client.post("/api/v1/projects", {
        "name": "p" + uuid.uuid4().hex[:6], "type": "sound_classification",
        "dataset": {"source": "specify", "id": str(ds.pk)}, "multi_label": True,
    }, format="json")
    assert r.status_code == 400 and "multi_label" in r.json()
    project = project_on(owner, ds)
    assert project["multi_label"] is False
    r = owner.client.patch(f"/api/v1/projects/{project['id']}", {"multi_label": True}, format="json")
    assert r.status_code == 400 and "multi_label" in r.json()


def test_migration_makes_projects_with_multi_labelled_data_multi_label(owner, store):
    """Existing projects keep how they trained: several labels on a sample -> multi-label."""
    multi = make_dataset(owner, TaskType.IMAGE_CLASSIFICATION)
    s = image_samples(owner, store, multi, n=2)
    label(owner, s[0], ["cat", "pet"])
    label(owner, s[1], ["dog"])
    single = make_dataset(owner, TaskType.IMAGE_CLASSIFICATION)
    t = image_samples(owner, store, single, n=2)
    label(owner, t[0], ["cat"])
    label(owner, t[1], ["dog"])
    boxes = make_dataset(owner, TaskType.OBJECT_DETECTION)
    detection_samples(owner, store, boxes, n=2, with_boxes=True)
    with owner.scope():
        made = {
            name: Project.objects.create(name=name, task_type=ds.task_type, dataset=ds)
            for name, ds in [("multi", multi), ("single", single), ("boxes", boxes)]
        }
    migration = importlib.import_module("projects.migrations.0003_project_multi_label")
    migration.decide_from_data(apps, None)
    with owner.scope():
        after = {p.name: p.multi_label for p in Project.objects.filter(pk__in=[p.pk for p in made.values()])}
    assert after == {"multi": True, "single": False, "boxes": False}

"""API.md /datasets: datasets, sync job, samples, upload, labels, annotations, versions."""

from __future__ import annotations

import uuid

import pytest
from django.test import override_settings

from tests.contract.shapes import (
    assert_detail,
    assert_field_error,
    assert_job,
    assert_page,
    assert_wrong_state,
    missing_id,
)
from tests.datasets.helpers import folder, jpeg
from tests.labeling.labelkit import detection_samples, image_samples, label, make_dataset

pytestmark = pytest.mark.django_db

D = "/api/v1/datasets"


def _create(actor, task_type="image_classification", labels=None):
    base = folder(actor.tenant)
    body = {"name": "ds" + uuid.uuid4().hex[:6], "type": task_type, "input_path": base,
            "output_path": base.rstrip("/") + "-out/", "labels": labels or []}
    return actor.client.post(D, body, format="json")


def test_dataset_create_read_list_delete(owner, outsider, viewer):
    r = _create(owner)
    assert r.status_code == 201, r.content
    ds = r.json()
    assert {"id", "name", "type", "input_path", "output_path", "sample_count", "labeled_count"} <= set(ds)
    _create(owner)
    assert_page(owner.client, D, at_least=2)
    assert owner.client.get(f"{D}/{ds['id']}").json()["id"] == ds["id"]
    assert_detail(outsider.client.get(f"{D}/{ds['id']}"), 404)
    assert_detail(outsider.client.delete(f"{D}/{ds['id']}"), 404)
    assert_detail(viewer.client.delete(f"{D}/{ds['id']}"), 403)
    assert_detail(owner.client.get(f"{D}/{missing_id()}"), 404)
    assert owner.client.delete(f"{D}/{ds['id']}").status_code == 204
    assert_detail(owner.client.get(f"{D}/{ds['id']}"), 404)


def test_sync_is_202_with_a_job_and_409_while_one_runs(owner, outsider):
    ds = make_dataset(owner, "image_classification")
    r = owner.client.post(f"{D}/{ds.pk}/sync")
    assert r.status_code == 202, r.content
    assert_job(r.json())
    assert r.json()["kind"]
    assert owner.client.get(f"/api/v1/jobs/{r.json()['id']}").status_code == 200
    assert_wrong_state(owner.client.post(f"{D}/{ds.pk}/sync"))
    assert_detail(outsider.client.post(f"{D}/{ds.pk}/sync"), 404)


def test_upload_accepts_and_rejects_per_file(owner, store):
    ds = _create(owner).json()
    files = [("a.jpg", jpeg()), ("b.jpg", b"not an image")]
    from django.core.files.uploadedfile import SimpleUploadedFile

    payload = {"files": [SimpleUploadedFile(n, d, content_type="image/jpeg") for n, d in files]}
    r = owner.client.post(f"{D}/{ds['id']}/samples", payload, format="multipart")
    assert r.status_code in (201, 202), r.content
    body = r.json()
    assert len(body["accepted"]) == 1 and len(body["rejected"]) == 1
    assert {"file", "reason"} <= set(body["rejected"][0]) and body["rejected"][0]["file"] == "b.jpg"
    # Every file refused: 400 naming the field, the per-file reasons kept.
    payload = {"files": [SimpleUploadedFile("c.jpg", b"not an image", content_type="image/jpeg")]}
    r = owner.client.post(f"{D}/{ds['id']}/samples", payload, format="multipart")
    assert_field_error(r, "files")
    assert r.json()["accepted"] == [] and r.json()["rejected"][0]["file"] == "c.jpg"


def test_upload_over_the_request_limit_is_413(owner, settings):
    from django.core.files.uploadedfile import SimpleUploadedFile

    ds = _create(owner).json()
    limits = {**settings.EXEML_LIMITS, "upload_request_max_bytes": 1000}
    with override_settings(EXEML_LIMITS=limits):
        big = SimpleUploadedFile("big.jpg", b"x" * 200_000, content_type="image/jpeg")
        r = owner.client.post(f"{D}/{ds['id']}/samples", {"files": [big]}, format="multipart")
    assert_detail(r, 413)


def test_samples_list_filter_read_content_delete(owner, outsider, store):
    ds = make_dataset(owner, "image_classification")
    samples = image_samples(owner, store, ds, n=4)
    label(owner, samples[0], ["cat"])
    url = f"{D}/{ds.pk}/samples"
    assert_page(owner.client, url, at_least=4)
    labeled = owner.client.get(url, {"labeled": "true"}).json()
    assert labeled["count"] == 1 and labeled["results"][0]["labels"] == ["cat"]
    assert owner.client.get(url, {"labeled": "false"}).json()["count"] == 3
    assert owner.client.get(url, {"label": "cat"}).json()["count"] == 1
    assert_field_error(owner.client.get(url, {"labeled": "maybe"}), "labeled")
    sid = samples[1].pk
    one = owner.client.get(f"{url}/{sid}")
    assert one.status_code == 200 and {"id", "name", "labels", "revision"} <= set(one.json())
    content = owner.client.get(f"{url}/{sid}/content")
    assert content.status_code in (200, 302)
    assert_detail(outsider.client.get(f"{url}/{sid}"), 404)
    assert_detail(owner.client.get(f"{url}/{missing_id()}"), 404)
    assert owner.client.delete(f"{url}/{sid}").status_code == 204
    r = owner.client.post(f"{url}/delete", {"ids": [str(samples[2].pk)], "delete_source": False}, format="json")
    assert r.status_code == 200 and r.json()["deleted"] == 1
    assert_field_error(owner.client.post(f"{url}/delete", {"ids": []}, format="json"), "ids")


def test_preview_is_for_predictive_analytics_only(owner):
    ds = _create(owner).json()
    r = owner.client.get(f"{D}/{ds['id']}/preview")
    assert r.status_code == 400 and r.json()


def test_labels_list_create_patch_delete(owner, viewer, outsider, store):
    ds = make_dataset(owner, "image_classification")
    samples = image_samples(owner, store, ds, n=2)
    label(owner, samples[0], ["cat"])
    url = f"{D}/{ds.pk}/labels"
    r = owner.client.post(url, {"name": "dog", "color": "#00ff00"}, format="json")
    assert r.status_code == 201, r.content
    assert {"name", "color", "shortcut", "count"} <= set(r.json())
    page = assert_page(owner.client, url, at_least=2)
    assert {x["name"]: x["count"] for x in page["results"]} == {"cat": 1, "dog": 0}
    assert_field_error(owner.client.post(url, {"name": "bad name!"}, format="json"), "name")
    assert_detail(viewer.client.post(url, {"name": "x"}, format="json"), 403)
    assert_detail(outsider.client.get(url), 404)
    r = owner.client.patch(f"{url}/cat", {"name": "kitten", "color": "#123456"}, format="json")
    assert r.status_code == 200 and r.json()["name"] == "kitten" and r.json()["count"] == 1
    assert_detail(owner.client.patch(f"{url}/nope", {"color": "#123456"}, format="json"), 404)
    r = owner.client.delete(f"{url}/kitten?mode=label_and_samples")
    assert r.status_code == 200 and r.json()["samples_deleted"] == 1
    assert owner.client.delete(f"{url}/dog?mode=bogus").status_code == 400


def test_annotations_put_with_if_match_and_batch(owner, store):
    ds = make_dataset(owner, "image_classification")
    a, b = image_samples(owner, store, ds, n=2)
    url = f"{D}/{ds.pk}/samples/{a.pk}/annotations"
    r = owner.client.put(url, {"labels": ["cat"]}, format="json")
    assert r.status_code == 200 and r.json()["labels"] == ["cat"] and r.json()["labeled"] is True
    revision = r.json()["revision"]
    r = owner.client.put(url, {"labels": ["dog"]}, format="json", HTTP_IF_MATCH=str(revision))
    assert r.status_code == 200 and r.json()["labels"] == ["dog"]
    stale = owner.client.put(url, {"labels": ["cow"]}, format="json", HTTP_IF_MATCH=str(revision))
    assert_wrong_state(stale)
    r = owner.client.post(f"{D}/{ds.pk}/annotations/batch",
                          {"sample_ids": [str(a.pk), str(b.pk)], "add": ["x"], "remove": ["dog"]}, format="json")
    assert r.status_code == 200
    labels = {s["id"]: s["labels"] for s in r.json()["samples"]}
    assert labels == {str(a.pk): ["x"], str(b.pk): ["x"]}


def test_detection_objects_in_pixels(owner, store):
    ds = make_dataset(owner, "object_detection")
    (s,) = detection_samples(owner, store, ds, n=1)
    url = f"{D}/{ds.pk}/samples/{s.pk}/annotations"
    body = {"objects": [{"label": "car", "bbox": [1, 2, 30, 40]}]}
    r = owner.client.put(url, body, format="json")
    assert r.status_code == 200, r.content
    assert r.json()["objects"] == [{"label": "car", "bbox": [1, 2, 30, 40]}]
    r = owner.client.put(url, {"objects": []}, format="json")
    assert r.status_code == 200 and r.json()["labeled"] is False


def test_versions_publish_201_and_list_page(owner, store):
    ds = make_dataset(owner, "image_classification")
    samples = image_samples(owner, store, ds, n=4)
    for i, s in enumerate(samples):
        label(owner, s, ["a" if i % 2 else "b"])
    url = f"{D}/{ds.pk}/versions"
    r = owner.client.post(url, {"train_ratio": 0.5}, format="json")
    assert r.status_code == 201, r.content
    assert {"id", "name", "train_ratio", "manifest_path"} <= set(r.json())
    owner.client.post(url, {"name": "mine", "train_ratio": 0.8}, format="json")
    assert_page(owner.client, url, at_least=2)
    assert_field_error(owner.client.post(url, {"train_ratio": 1.5}, format="json"), "train_ratio")
    assert_page(owner.client, f"{D}/{ds.pk}/exports")

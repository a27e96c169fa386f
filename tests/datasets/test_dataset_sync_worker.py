"""Happy paths through the API and a real Celery worker, against the S3 endpoint."""

from __future__ import annotations

import uuid

import pytest

from datasets import demo_data
from tests.conftest import wait_for
from tests.datasets.helpers import create_project, delete_file, folder, put_files, wait_job

EXPECTED = {  # samples, labelled
    "image_classification": (12, 9),
    "object_detection": (6, 6),
    "sound_classification": (12, 9),
    "text_classification": (12, 10),
}


def _first_sync(actor, dataset_id) -> dict:
    def job_id():
        return actor.client.get(f"/api/v1/datasets/{dataset_id}").json()["last_sync_job"]

    job = wait_for(job_id, timeout=30, message="sync job created")
    return wait_job(actor, job["id"])


@pytest.mark.django_db(transaction=True)
def test_every_type_syncs_through_the_worker(celery_worker, owner):
    for task_type, (samples, labeled) in EXPECTED.items():
        project, base = create_project(owner, task_type)
        ds_id = project["dataset"]["id"]
        job = _first_sync(owner, ds_id)
        assert job["status"] == "succeeded", job
        assert job["kind"] == "dataset_sync" and job["counts"]["failed"] == 0, job
        body = owner.client.get(f"/api/v1/datasets/{ds_id}").json()
        assert (body["sample_count"], body["labeled_count"]) == (samples, labeled), task_type

        # Synchronize Data Source again: nothing new; then a deleted object goes missing.
        r = owner.client.post(f"/api/v1/datasets/{ds_id}/sync")
        assert r.status_code == 202 and r.json()["kind"] == "dataset_sync"
        again = wait_job(owner, r.json()["id"])
        assert again["counts"]["imported"] == 0 and again["counts"]["unchanged"] == job["counts"]["found"]
        if task_type == "image_classification":
            delete_file(owner.tenant, base + "img_0002.jpg")
            r = owner.client.post(f"/api/v1/datasets/{ds_id}/sync")
            third = wait_job(owner, r.json()["id"])
            assert third["counts"]["missing"] == 1
            assert owner.client.get(f"/api/v1/datasets/{ds_id}").json()["missing_count"] == 1


@pytest.mark.django_db(transaction=True)
def test_predictive_analytics_syncs_through_the_worker(celery_worker, owner):
    base = folder(owner.tenant)
    put_files(owner.tenant, base, [("bank.csv", demo_data.tabular_csv(rows=200))])
    r = owner.client.post("/api/v1/projects", {
        "name": "t" + uuid.uuid4().hex[:8], "type": "predictive_analytics", "training_data": base + "bank.csv",
    }, format="json")
    assert r.status_code == 201, r.json()
    project = r.json()
    ds_id = project["dataset"]["id"]
    job = _first_sync(owner, ds_id)
    assert job["status"] == "succeeded" and job["counts"]["imported"] == 1, job
    preview = owner.client.get(f"/api/v1/datasets/{ds_id}/preview").json()
    assert [c["name"] for c in preview["columns"]][:2] == ["attr_1", "attr_2"]
    assert preview["stats"]["rows"] == 200 and len(preview["rows"]) == 20
    r = owner.client.patch(f"/api/v1/projects/{project['id']}", {"label_column": "attr_8", "label_type": "discrete"},
                           format="json")
    assert r.status_code == 200, r.json()
    assert (r.json()["label_column"], r.json()["label_type"]) == ("attr_8", "discrete")
    r = owner.client.patch(f"/api/v1/projects/{project['id']}", {"label_column": "attr_7", "label_type": "continuous"},
                           format="json")
    assert r.status_code == 400 and "label_type" in r.json(), r.json()
    samples = owner.client.get(f"/api/v1/datasets/{ds_id}/samples").json()
    assert samples["count"] == 1 and samples["results"][0]["format"] == "CSV"


@pytest.mark.django_db(transaction=True)
def test_a_sync_names_each_refused_file_with_its_reason(celery_worker, owner):
    from tests.datasets.helpers import jpeg

    files = [("good.jpg", jpeg()), ("photo.gif", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;"), ("broken.jpg", jpeg()[:-200])]
    project, base = create_project(owner, "image_classification", files=files)
    ds_id = project["dataset"]["id"]
    job = _first_sync(owner, ds_id)
    assert job["status"] == "succeeded", job
    reasons = {e["file"]: e["reason"] for e in job["errors"]}
    assert set(reasons) == {base + "photo.gif", base + "broken.jpg"}, job["errors"]
    assert reasons[base + "photo.gif"] == ".gif is not a supported image type (jpg, jpeg, png, bmp)"
    assert "damaged" in reasons[base + "broken.jpg"]
    assert [e.get("skipped", False) for e in job["errors"] if e["file"] == base + "photo.gif"] == [True]
    counts = job["counts"]
    assert (counts["imported"], counts["skipped"], counts["failed"], counts["errors_total"]) == (1, 1, 1, 2)
    # The dataset's API shows the same list (its last synchronization).
    shown = owner.client.get(f"/api/v1/datasets/{ds_id}").json()["last_sync_job"]["errors"]
    assert {e["file"] for e in shown} == set(reasons)

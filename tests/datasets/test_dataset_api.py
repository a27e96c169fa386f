"""Dataset and sample API: lists, filters, query counts, content, delete, roles, tenancy."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from datasets.models import Dataset, Sample
from datasets.services import dataset_sync
from exeml.storage import parse_storage_path, store_for_tenant
from tests.datasets.helpers import create_project, folder, jpeg, put_files


@pytest.fixture(autouse=True)
def _bucket(store):
    return store


def _synced(actor, task_type="image_classification", files=None):
    project, base = create_project(actor, task_type, files=files)
    with actor.scope():
        dataset_sync(dataset=Dataset.objects.get(pk=project["dataset"]["id"]))
    return project, project["dataset"]["id"], base


@pytest.mark.django_db
def test_dataset_list_and_create(owner):
    _synced(owner)
    base = folder(owner.tenant)
    r = owner.client.post("/api/v1/datasets", {"name": "mine", "type": "sound_classification", "input_path": base,
                                                "output_path": base.rstrip("/") + "-o/"}, format="json")
    assert r.status_code == 201, r.json()
    assert r.json()["sample_count"] == 0 and r.json()["last_sync_job"]["status"] == "queued"
    r = owner.client.post("/api/v1/datasets", {"name": "mine", "type": "sound_classification", "input_path": base,
                                                "output_path": base.rstrip("/") + "-o/"}, format="json")
    assert r.status_code == 400 and "name" in r.json()
    with CaptureQueriesContext(connection) as ctx:
        listed = owner.client.get("/api/v1/datasets").json()
    assert listed["count"] == 2 and len(ctx.captured_queries) <= 8
    by_name = {d["name"]: d for d in listed["results"]}
    image = next(d for d in listed["results"] if d["type"] == "image_classification")
    assert (image["sample_count"], image["labeled_count"], image["unlabeled_count"]) == (12, 9, 3)
    assert "mine" in by_name
    assert owner.client.get("/api/v1/datasets", {"type": "sound_classification"}).json()["count"] == 1


@pytest.mark.django_db
def test_samples_list_filters_and_constant_queries(owner, django_assert_max_num_queries):
    _project, ds_id, _ = _synced(owner)
    url = f"/api/v1/datasets/{ds_id}/samples"
    assert owner.client.get(url).json()["count"] == 12
    assert owner.client.get(url, {"labeled": "true"}).json()["count"] == 9
    assert owner.client.get(url, {"labeled": "false"}).json()["count"] == 3
    assert owner.client.get(url, {"label": "circle"}).json()["count"] == 3
    assert owner.client.get(url, {"labeled": "maybe"}).status_code == 400
    with django_assert_max_num_queries(8):
        small = owner.client.get(url, {"page_size": 2}).json()
    with django_assert_max_num_queries(8):
        big = owner.client.get(url, {"page_size": 12}).json()
    assert len(small["results"]) == 2 and len(big["results"]) == 12
    sample = big["results"][0]
    assert set(sample) >= {"id", "name", "source", "status", "labeled", "revision", "labels", "objects", "width",
                           "height", "format", "duration", "text", "line_number", "label_reason", "content_url"}


@pytest.mark.django_db
def test_a_sample_list_carries_a_preview_of_a_long_text_and_the_sample_all_of_it(owner, store):
    from datasets.selectors import TEXT_PREVIEW_CHARS
    from tests.labeling.labelkit import make_dataset, text_samples

    dataset = make_dataset(owner, "text_classification")
    long_text = "".join(f"word{i % 97} " for i in range(20_000))[:100_000]  # a 100 KB text sample
    long, short = text_samples(owner, store, dataset, [long_text, "a short one"])
    r = owner.client.get(f"/api/v1/datasets/{dataset.pk}/samples")
    assert r.status_code == 200
    assert len(r.content) < 5_000, len(r.content)  # the page is small
    rows = {row["id"]: row for row in r.json()["results"]}
    row = rows[str(long.pk)]
    assert row["text"] == long_text[:TEXT_PREVIEW_CHARS]
    assert row["text_truncated"] is True and row["text_length"] == 100_000
    assert rows[str(short.pk)]["text"] == "a short one" and rows[str(short.pk)]["text_truncated"] is False
    assert rows[str(short.pk)]["text_length"] == len("a short one")

    detail = owner.client.get(f"/api/v1/datasets/{dataset.pk}/samples/{long.pk}").json()
    assert detail["text"] == long_text and detail["text_truncated"] is False and detail["text_length"] == 100_000
    content = owner.client.get(row["content_url"])
    assert content.content.decode() == long_text


@pytest.mark.django_db
def test_sample_read_content_and_delete(owner):
    _project, ds_id, base = _synced(owner)
    rows = owner.client.get(f"/api/v1/datasets/{ds_id}/samples").json()["results"]
    first, second, third = rows[0], rows[1], rows[2]
    content = owner.client.get(first["content_url"])
    assert content.status_code == 302
    assert "Signature" in content["Location"] or "X-Amz" in content["Location"]
    assert owner.client.delete(f"/api/v1/datasets/{ds_id}/samples/{first['id']}").status_code == 204
    assert owner.client.get(f"/api/v1/datasets/{ds_id}/samples/{first['id']}").status_code == 404
    r = owner.client.post(f"/api/v1/datasets/{ds_id}/samples/delete",
                          {"ids": [second["id"], third["id"]], "delete_source": True}, format="json")
    assert r.status_code == 200 and r.json() == {"deleted": 2, "files_deleted": 2}
    store = store_for_tenant(owner.tenant)
    assert store.exists("exeml", parse_storage_path(first["source"]).key)  # kept
    assert not store.exists("exeml", parse_storage_path(second["source"]).key)
    # A deleted sample whose file was kept does not come back on the next sync.
    with owner.scope():
        job = dataset_sync(dataset=Dataset.objects.get(pk=ds_id))
        assert job.counts["imported"] == 0
        assert Sample.objects.filter(dataset_id=ds_id).count() == 9


@pytest.mark.django_db
def test_dataset_delete_keeps_storage_and_is_refused_while_used(owner):
    project, ds_id, base = _synced(owner)
    r = owner.client.delete(f"/api/v1/datasets/{ds_id}")
    assert r.status_code == 409
    assert owner.client.delete(f"/api/v1/projects/{project['id']}").status_code == 204
    assert owner.client.delete(f"/api/v1/datasets/{ds_id}").status_code == 204
    store = store_for_tenant(owner.tenant)
    assert store.exists("exeml", parse_storage_path(base + "img_0001.jpg").key)


@pytest.mark.django_db
def test_sync_conflict_while_running(owner):
    _project, ds_id, _ = _synced(owner)
    assert owner.client.post(f"/api/v1/datasets/{ds_id}/sync").status_code == 202
    r = owner.client.post(f"/api/v1/datasets/{ds_id}/sync")
    assert r.status_code == 409 and r.json()["status"] == "queued"
    # A job whose worker stopped answering does not block the dataset forever.
    from datetime import timedelta

    from django.utils import timezone

    from exeml.jobs.models import Job

    with owner.scope():
        job = Dataset.objects.get(pk=ds_id).last_sync_job
        Job.objects.filter(pk=job.pk).update(status="running", heartbeat_at=timezone.now() - timedelta(hours=1))
    assert owner.client.post(f"/api/v1/datasets/{ds_id}/sync").status_code == 202
    assert owner.client.get(f"/api/v1/jobs/{job.pk}").json()["status"] == "failed"


@pytest.mark.django_db
def test_output_path_objects_are_skipped(owner):
    base = folder(owner.tenant)
    put_files(owner.tenant, base, [("a.jpg", jpeg()), ("out/b.jpg", jpeg())])
    r = owner.client.post("/api/v1/datasets", {"name": "d" + uuid.uuid4().hex[:6], "type": "image_classification",
                                                "input_path": base + "in/", "output_path": base + "out/"},
                          format="json")
    assert r.status_code == 201
    # Input and output as siblings is the rule; a dataset over the parent sees the output as skipped.
    with owner.scope():
        ds = Dataset.objects.get(pk=r.json()["id"])
        ds.input_path = base
        ds.save()
        job = dataset_sync(dataset=ds)
    assert job.counts["imported"] == 1 and job.counts["skipped"] == 1
    assert [(e["file"], e["skipped"]) for e in job.errors] == [(base + "out/b.jpg", True)]
    assert "output path" in job.errors[0]["reason"]


@pytest.mark.django_db
def test_viewer_cannot_write(owner, viewer):
    _project, ds_id, _ = _synced(owner)
    sample_id = owner.client.get(f"/api/v1/datasets/{ds_id}/samples").json()["results"][0]["id"]
    assert viewer.client.get(f"/api/v1/datasets/{ds_id}/samples").status_code == 200
    assert viewer.client.post(f"/api/v1/datasets/{ds_id}/sync").status_code == 403
    assert viewer.client.delete(f"/api/v1/datasets/{ds_id}/samples/{sample_id}").status_code == 403
    assert viewer.client.post(f"/api/v1/datasets/{ds_id}/samples/delete", {"ids": [sample_id]},
                              format="json").status_code == 403
    assert viewer.client.delete(f"/api/v1/datasets/{ds_id}").status_code == 403
    assert viewer.client.post("/api/v1/datasets", {}, format="json").status_code == 403


@pytest.mark.django_db
def test_other_tenants_dataset_is_404_on_every_route(owner, outsider):
    _project, ds_id, _ = _synced(owner)
    sid = owner.client.get(f"/api/v1/datasets/{ds_id}/samples").json()["results"][0]["id"]
    c = outsider.client
    base = f"/api/v1/datasets/{ds_id}"
    assert c.get(base).status_code == 404
    assert c.delete(base).status_code == 404
    assert c.post(f"{base}/sync").status_code == 404
    assert c.get(f"{base}/samples").status_code == 404
    assert c.post(f"{base}/samples", {}, format="multipart").status_code == 404
    assert c.get(f"{base}/samples/{sid}").status_code == 404
    assert c.delete(f"{base}/samples/{sid}").status_code == 404
    assert c.get(f"{base}/samples/{sid}/content").status_code == 404
    assert c.post(f"{base}/samples/delete", {"ids": [sid]}, format="json").status_code == 404
    assert c.get(f"{base}/preview").status_code == 404
    assert c.get("/api/v1/datasets").json()["count"] == 0
    # And the owner's sample id under the outsider's own dataset is not found either.
    with owner.scope():
        assert Sample.objects.filter(pk=sid).exists()


@pytest.mark.django_db
def test_a_dataset_list_nests_only_the_first_errors_of_each_last_sync(owner):
    """A sync keeps up to 1,000 refused files; a page of datasets must not carry them all."""
    from exeml.jobs.models import Job

    _project, dataset_id, _base = _synced(owner)
    errors = [{"file": f"s3://b/x/{i}.gif", "reason": ".gif is not a supported image type", "skipped": True}
              for i in range(1000)]
    with owner.scope():
        job = Dataset.objects.get(pk=dataset_id).last_sync_job
        Job.objects.filter(pk=job.pk).update(errors=errors, counts={**job.counts, "errors_total": 4321})
    row = next(d for d in owner.client.get("/api/v1/datasets").json()["results"] if d["id"] == dataset_id)
    nested = row["last_sync_job"]
    assert nested["errors"] == errors[:5]
    assert nested["counts"]["errors_total"] == 4321
    assert owner.client.get(f"/api/v1/datasets/{dataset_id}").json()["last_sync_job"]["errors"] == errors[:5]
    # The job itself lists every kept error.
    assert len(owner.client.get(f"/api/v1/jobs/{job.pk}").json()["errors"]) == 1000

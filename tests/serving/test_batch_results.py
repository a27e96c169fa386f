"""A batch prediction's results read back through the API: the first rows for the console and
the file as a download, streamed from the tenant's storage, tenant-scoped and path-checked."""

from __future__ import annotations

import io
import json

import pytest
from PIL import Image

from exeml.jobs.models import Job
from tests.conftest import wait_for
from tests.serving.serving_helpers import make_version

pytestmark = pytest.mark.django_db(transaction=True)


def _png(color) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (16, 16), color).save(buf, format="PNG")
    return buf.getvalue()


def _put(store, uri: str, data: bytes) -> None:
    bucket, key = uri.removeprefix("s3://").split("/", 1)
    store.put(bucket, key, data)


def _done(actor, job_id: str) -> Job:
    def finished():
        with actor.scope():
            job = Job.objects.get(pk=job_id)
        return job if job.status in ("succeeded", "failed", "cancelled") else None

    return wait_for(finished, timeout=120, message="batch prediction")


def test_batch_results_are_listed_and_downloaded_for_the_tenant_only(
    owner, outsider, store, image_bundle, celery_worker
):
    version = make_version(owner, store, image_bundle)
    root = owner.tenant.default_root
    for name, rgb in {"a.png": (255, 0, 0), "b.png": (0, 0, 255), "c.png": (0, 255, 0)}.items():
        _put(store, root + "results-in/" + name, _png(rgb))
    r = owner.client.post(f"/api/v1/projects/{version.project_id}/versions/V001/batch-predict",
                          {"input_path": root + "results-in/", "output_path": root + "results-out/"}, format="json")
    assert r.status_code == 202, r.json()
    job_id = r.json()["id"]
    # Before it succeeded there is nothing to read (a queued or running job: 409).
    early = owner.client.get(f"/api/v1/batch-predictions/{job_id}/results")
    assert early.status_code in (200, 409), early.content
    job = _done(owner, job_id)
    assert job.status == "succeeded", job.detail

    listed = owner.client.get(f"/api/v1/batch-predictions/{job_id}/results", {"limit": 2})
    assert listed.status_code == 200, listed.json()
    body = listed.json()
    assert body["format"] == "jsonl" and body["name"] == "results.jsonl" and body["truncated"] is True
    assert body["path"] == job.result["results"] and (body["files"], body["succeeded"]) == (3, 3)
    assert len(body["rows"]) == 2
    assert all(row["result"]["predicted_label"] in {"red", "green", "blue"} for row in body["rows"])
    everything = owner.client.get(f"/api/v1/batch-predictions/{job_id}/results", {"limit": 50}).json()
    by_file = {row["file"].rsplit("/", 1)[-1]: row["result"]["predicted_label"] for row in everything["rows"]}
    assert by_file == {"a.png": "red", "b.png": "blue", "c.png": "green"} and everything["truncated"] is False

    download = owner.client.get(f"/api/v1/batch-predictions/{job_id}/download")
    assert download.status_code == 200
    assert 'filename="results.jsonl"' in download["Content-Disposition"]
    lines = b"".join(download.streaming_content).decode().splitlines()
    assert {json.loads(x)["file"].rsplit("/", 1)[-1] for x in lines} == {"a.png", "b.png", "c.png"}

    # Another tenant's job does not exist for them; a bad limit is a 400 naming the field.
    assert outsider.client.get(f"/api/v1/batch-predictions/{job_id}/results").status_code == 404
    assert outsider.client.get(f"/api/v1/batch-predictions/{job_id}/download").status_code == 404
    bad = owner.client.get(f"/api/v1/batch-predictions/{job_id}/results", {"limit": "lots"})
    assert bad.status_code == 400 and "limit" in json.dumps(bad.json())
    # Only batch prediction jobs are readable here.
    with owner.scope():
        other = Job.objects.create(kind="dataset_export", status="succeeded", result={"results": job.result["results"]})
    assert owner.client.get(f"/api/v1/batch-predictions/{other.pk}/download").status_code == 404


def test_a_result_path_outside_the_jobs_folder_is_never_read(owner, store, image_bundle):
    version = make_version(owner, store, image_bundle)
    root = owner.tenant.default_root
    _put(store, root + "secret/notes.jsonl", b'{"secret": true}\n')
    out = root + "results-out/"
    with owner.scope():
        job = Job.objects.create(kind="batch_prediction", status="succeeded", target_type="version",
                                 target_id=version.pk, params={"output_path": out})
        # A row pointing elsewhere in the tenant's storage, another tenant's, or not under any root.
        for uri in (root + "secret/notes.jsonl", out + f"batch-{job.pk}/../../secret/notes.jsonl",
                    "s3://elsewhere/t/results.jsonl"):
            Job.objects.filter(pk=job.pk).update(result={"results": uri})
            for what in ("results", "download"):
                r = owner.client.get(f"/api/v1/batch-predictions/{job.pk}/{what}")
                assert r.status_code == 404, (uri, what, r.content)
        # The job's own file, once gone from storage, is a 404 too (not a 500).
        Job.objects.filter(pk=job.pk).update(result={"results": out + f"batch-{job.pk}/results.jsonl"})
    assert owner.client.get(f"/api/v1/batch-predictions/{job.pk}/download").status_code == 404
    with owner.scope():
        Job.objects.filter(pk=job.pk).update(status="running")
    assert owner.client.get(f"/api/v1/batch-predictions/{job.pk}/results").status_code == 409

"""Bulk imports cannot starve other tenants: bounded batches, line limit, sample quota, batched delete."""

from __future__ import annotations

import time
import uuid

import pytest
from django.conf import settings
from django.db import connection
from django.test import override_settings

from exeml.tenancy.models import Quota
from tests.datasets.helpers import create_project, folder, wait_job
from tests.datasets.test_dataset_upload import _dataset, _upload


def _lines(n: int) -> bytes:
    return b"".join(b"comment number %d is fine\n" % i for i in range(n))


@pytest.mark.django_db(transaction=True)
def test_other_tenant_keeps_answering_while_a_100k_line_file_imports(celery_worker, owner, outsider):
    project, _ = create_project(owner, "text_classification", files=[("big.txt", _lines(100_000))])
    ds_id = project["dataset"]["id"]
    rounds_during_import = 0  # the other tenant's reads and write, done while the import ran
    job = None
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        before = owner.client.get(f"/api/v1/datasets/{ds_id}").json()["last_sync_job"]
        for url in ("/api/v1/datasets", "/api/v1/projects", "/api/v1/jobs"):
            r = outsider.client.get(url)
            assert r.status_code == 200, (url, r.status_code)
        _dataset(outsider, "text_classification")  # a write too: it waits for no import lock
        job = owner.client.get(f"/api/v1/datasets/{ds_id}").json()["last_sync_job"]
        if before and before["status"] == job["status"] == "running":
            rounds_during_import += 1
        if job and job["status"] in ("succeeded", "failed"):
            break
        time.sleep(0.2)
    assert job and job["status"] == "succeeded", job
    assert owner.client.get(f"/api/v1/datasets/{ds_id}").json()["sample_count"] == 100_000
    print(f"\nother tenant during a 100k-line import: {rounds_during_import} rounds of requests while it ran "
          f"({'SQLite' if connection.vendor == 'sqlite' else connection.vendor})")
    # An order, not a speed: the import was running before and still running after the other
    # tenant's requests, so none of them waited for the import's lock (they would have ended
    # after it), however slow this machine is.
    assert rounds_during_import >= 1

    # Deleting it runs as a job, in batches.
    r = owner.client.delete(f"/api/v1/projects/{project['id']}")
    assert r.status_code == 204, r.content
    r = owner.client.delete(f"/api/v1/datasets/{ds_id}")
    assert r.status_code == 202 and r.json()["kind"] == "dataset_delete", r.content
    assert owner.client.delete(f"/api/v1/datasets/{ds_id}").status_code == 409
    done = wait_job(owner, r.json()["id"], timeout=300)
    assert done["status"] == "succeeded", done
    assert owner.client.get(f"/api/v1/datasets/{ds_id}").status_code == 404


@pytest.mark.django_db(transaction=True)
def test_a_file_over_the_line_limit_is_refused_with_the_reason(celery_worker, owner, store):
    ds = _dataset(owner, "text_classification")
    r = _upload(owner, ds["id"], [("big.txt", _lines(100_001)), ("small.txt", _lines(3))])
    assert r.status_code == 202, r.content  # large: imported by a job, followed here
    job = wait_job(owner, r.json()["id"], timeout=300)
    assert job["status"] == "succeeded", job
    rejected = {x["file"]: x["reason"] for x in job["result"]["rejected"]}
    assert "more than the 100,000 allowed per file" in rejected["big.txt"], rejected
    assert [x["file"] for x in job["result"]["accepted"]] == ["small.txt"]
    assert owner.client.get(f"/api/v1/datasets/{ds['id']}").json()["sample_count"] == 3
    with override_settings(EXEML_LIMITS={**settings.EXEML_LIMITS, "text_max_lines_per_file": 2}):
        r = _upload(owner, ds["id"], [("three.txt", _lines(3))])
        assert r.status_code == 400, r.content  # its only file refused
        assert "more than the 2 allowed per file" in r.json()["rejected"][0]["reason"], r.json()


@pytest.mark.django_db
def test_the_sample_quota_refuses_files_that_would_pass_it(owner, store):
    Quota.objects.filter(tenant=owner.tenant).update(max_samples_per_dataset=5)
    ds = _dataset(owner, "text_classification")
    r = _upload(owner, ds["id"], [("a.txt", _lines(4)), ("b.txt", _lines(2)), ("c.txt", _lines(1))])
    assert r.status_code == 201, r.content
    rejected = {x["file"]: x["reason"] for x in r.json()["rejected"]}
    assert set(rejected) == {"b.txt"} and "quota of 5 samples" in rejected["b.txt"], r.json()
    assert owner.client.get(f"/api/v1/datasets/{ds['id']}").json()["sample_count"] == 5


@pytest.mark.django_db
def test_small_dataset_delete_is_immediate(owner, store):
    ds = _dataset(owner, "text_classification", base=folder(owner.tenant, "d" + uuid.uuid4().hex[:6]))
    _upload(owner, ds["id"], [("a.txt", _lines(3))])
    assert owner.client.delete(f"/api/v1/datasets/{ds['id']}").status_code == 204
    assert owner.client.get(f"/api/v1/datasets/{ds['id']}").status_code == 404

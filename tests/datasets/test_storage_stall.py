"""A hung S3 endpoint through a real Celery worker: the job says it waits for storage, fails
with the reason after EXEML_STORAGE_STALL_SECONDS, and a cancel stops it.

The endpoint is a real TCP server that accepts connections and never answers (tests/hung_s3.py);
nothing in the object store is mocked. Each test runs its own worker on its own queue, with the
environment the scenario needs.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from urllib.parse import urlsplit

import pytest
from django.conf import settings

from datasets.models import Dataset
from datasets.tasks import dataset_sync_task
from exeml.jobs.services import job_create
from exeml.tenancy.models import Tenant
from tests.conftest import WorkerProcess, wait_for
from tests.datasets.helpers import create_project, put_files, wait_job
from tests.hung_s3 import HungS3

STALL = 8  # EXEML_STORAGE_STALL_SECONDS of the test worker


def _api_job(actor, job_id) -> dict:
    return actor.client.get(f"/api/v1/jobs/{job_id}").json()


def _dataset_with_new_files(actor) -> Dataset:
    """A synced dataset, then files the next sync has to read."""
    project, _ = create_project(actor, "text_classification", files=[("a.txt", b"one\n")])
    ds_id = project["dataset"]["id"]
    wait_job(actor, actor.client.get(f"/api/v1/datasets/{ds_id}").json()["last_sync_job"]["id"])
    with actor.scope():
        dataset = Dataset.objects.get(pk=ds_id)
    put_files(actor.tenant, dataset.input_path, [(f"new{i}.txt", b"line %d\n" % i) for i in range(20)])
    return dataset


def _point_tenant_at(tenant, url: str) -> None:
    Tenant.objects.filter(pk=tenant.pk).update(
        s3_endpoint_url=url, s3_access_key=settings.AWS_ACCESS_KEY_ID, s3_secret_key=settings.AWS_SECRET_ACCESS_KEY
    )


def _start_sync(actor, dataset: Dataset, queue: str):
    with actor.scope():
        job = job_create(kind="dataset_sync", target_type="dataset", target_id=dataset.pk)
        Dataset.objects.filter(pk=dataset.pk).update(last_sync_job=job)
    dataset_sync_task.apply_async(args=[str(job.pk), str(actor.tenant.pk)], queue=queue)
    return job


@pytest.mark.django_db(transaction=True)
def test_a_hung_storage_shows_waiting_then_fails_with_the_reason(celery_worker, owner, monkeypatch):
    dataset = _dataset_with_new_files(owner)
    queue = f"default-test-{uuid.uuid4().hex[:6]}"
    monkeypatch.setenv("EXEML_STORAGE_STALL_SECONDS", str(STALL))
    worker = WorkerProcess(queue, 1, "hung-storage")
    worker.start()
    with HungS3() as hung:  # even the listing gets no answer
        try:
            _point_tenant_at(owner.tenant, hung.url)
            job = _start_sync(owner, dataset, queue)

            def waiting():
                body = _api_job(owner, job.pk)
                return body if body["detail"].startswith("waiting for storage (since ") else None

            body = wait_for(waiting, timeout=60, interval=0.2, message="the job to say it waits for storage")
            assert body["status"] == "running", body
            since = datetime.fromisoformat(body["detail"].removeprefix("waiting for storage (since ").rstrip(")"))
            assert since.tzinfo is not None

            def ended():
                body = _api_job(owner, job.pk)
                return body if body["status"] != "running" else None

            body = wait_for(ended, timeout=120, message="the stalled job to end")
            assert body["status"] == "failed", body
            assert body["detail"].startswith(f"storage did not answer for {STALL} s: list s3://"), body
            assert "127.0.0.1" not in body["detail"]
        finally:
            worker.stop()


@pytest.mark.django_db(transaction=True)
def test_a_running_sync_hung_on_reads_can_be_cancelled_and_the_worker_goes_on(celery_worker, owner, monkeypatch):
    dataset = _dataset_with_new_files(owner)
    queue = f"default-test-{uuid.uuid4().hex[:6]}"
    monkeypatch.delenv("EXEML_STORAGE_STALL_SECONDS", raising=False)  # the default: far longer than this test
    worker = WorkerProcess(queue, 1, "hung-reads")
    worker.start()
    moto_port = urlsplit(settings.EXEML_S3_ENDPOINT_URL).port
    try:
        with HungS3(upstream_port=moto_port) as hung:  # lists, then every read hangs
            _point_tenant_at(owner.tenant, hung.url)
            job = _start_sync(owner, dataset, queue)
            wait_for(lambda: hung.held, timeout=60, message="the sync to read from the hung storage")
            assert _api_job(owner, job.pk)["status"] == "running"

            r = owner.client.post(f"/api/v1/jobs/{job.pk}/cancel")
            assert r.status_code in (200, 202), r.content
            assert r.json()["cancel_requested"] is True and r.json()["status"] in ("running", "cancelled")

            def ended():
                body = _api_job(owner, job.pk)
                return body if body["status"] != "running" else None

            body = wait_for(ended, timeout=60, message="the cancelled sync to end")
            assert (body["status"], body["detail"]) == ("cancelled", "cancelled by the user"), body
            assert owner.client.post(f"/api/v1/jobs/{job.pk}/cancel").status_code == 409  # it ended

        # The worker (one process, one task at a time) stopped the hung sync: it takes the next.
        _point_tenant_at(owner.tenant, "")
        again = _start_sync(owner, dataset, queue)
        body = wait_job(owner, again.pk, timeout=120)
        assert body["status"] == "succeeded" and body["counts"]["imported"] == 20, body
    finally:
        worker.stop()

"""Model jobs and deploys on a hung storage, through a real Celery worker: a batch prediction
says it waits for storage and a cancel ends it; a deploy hung on its bundle download can be
cancelled and leaves the service failed with the reason, while a finished deploy cannot be
cancelled (409).

The endpoint is a real TCP server that lists through to moto and never answers a read
(tests/hung_s3.py); nothing in the object store is mocked. Each test runs its own worker on
its own queue, with the environment the scenario needs.
"""

from __future__ import annotations

import uuid
from urllib.parse import urlsplit

import pytest
from django.conf import settings

from exeml.jobs.services import job_create
from exeml.tenancy.models import Flavor, Tenant
from serving.models import Service, ServiceStatus
from serving.runtime import artifact_fetch
from tests.conftest import WorkerProcess, wait_for
from tests.hung_s3 import HungS3
from tests.serving.serving_helpers import make_version, png_bytes

pytestmark = pytest.mark.django_db(transaction=True)


def _api_job(actor, job_id) -> dict:
    return actor.client.get(f"/api/v1/jobs/{job_id}").json()


def _point_tenant_at(tenant, url: str) -> None:
    Tenant.objects.filter(pk=tenant.pk).update(
        s3_endpoint_url=url, s3_access_key=settings.AWS_ACCESS_KEY_ID, s3_secret_key=settings.AWS_SECRET_ACCESS_KEY
    )


def _ended(actor, job_id):
    def check():
        body = _api_job(actor, job_id)
        return body if body["status"] not in ("queued", "running") else None

    return check


def _worker(name: str) -> tuple[WorkerProcess, str]:
    queue = f"default-test-{uuid.uuid4().hex[:6]}"
    worker = WorkerProcess(queue, 1, name)
    worker.start()
    return worker, queue


def test_a_batch_prediction_on_a_hung_input_says_it_waits_and_can_be_cancelled(owner, store, image_bundle,
                                                                              monkeypatch):
    from serving.tasks import batch_predict

    version = make_version(owner, store, image_bundle)
    artifact_fetch(version=version)  # the bundle is on this host already: only the inputs hang
    root = owner.tenant.default_root
    bucket, prefix = root.removeprefix("s3://").split("/", 1)
    for i in range(3):
        store.put(bucket, f"{prefix}batch-in/{i}.png", png_bytes())
    monkeypatch.setenv("EXEML_STORAGE_STALL_SECONDS", "60")  # "waiting" after 10 s, far from the stall
    worker, queue = _worker("hung-batch")
    moto_port = urlsplit(settings.EXEML_S3_ENDPOINT_URL).port
    try:
        with HungS3(upstream_port=moto_port) as hung:  # lists, then every read hangs
            _point_tenant_at(owner.tenant, hung.url)
            with owner.scope():
                job = job_create(kind="batch_prediction", target_type="version", target_id=version.pk, params={
                    "version": str(version.pk), "input_path": root + "batch-in/", "output_path": root + "batch-out/"})
            batch_predict.apply_async(args=[str(job.pk), str(owner.tenant.pk)], queue=queue)

            def waiting():
                body = _api_job(owner, job.pk)
                return body if body["detail"].startswith("waiting for storage (since ") else None

            body = wait_for(waiting, timeout=90, interval=0.3, message="the batch prediction to wait for storage")
            assert body["status"] == "running", body
            assert any("/batch-in/" in line for line in hung.held_requests), hung.held_requests

            r = owner.client.post(f"/api/v1/jobs/{job.pk}/cancel")
            assert r.status_code == 200, r.content
            body = wait_for(_ended(owner, job.pk), timeout=60, message="the cancelled batch prediction to end")
            assert (body["status"], body["detail"]) == ("cancelled", "cancelled by the user"), body
            assert owner.client.post(f"/api/v1/jobs/{job.pk}/cancel").status_code == 409  # it ended
    finally:
        worker.stop()


def test_a_deploy_hung_on_its_bundle_can_be_cancelled_and_a_finished_one_cannot(owner, store, image_bundle,
                                                                              monkeypatch):
    from serving.tasks import deploy_service

    version = make_version(owner, store, image_bundle)
    monkeypatch.delenv("EXEML_STORAGE_STALL_SECONDS", raising=False)  # the default: far longer than this test
    worker, queue = _worker("hung-deploy")

    def deploy(service: Service):
        with owner.scope():
            job = job_create(kind="service_deploy", target_type="service", target_id=service.pk,
                             params={"model_version": str(version.pk)})
            Service.objects.filter(pk=service.pk).update(deploy_job=job)
        deploy_service.apply_async(args=[str(service.pk), str(owner.tenant.pk), str(job.pk)], queue=queue)
        return job

    moto_port = urlsplit(settings.EXEML_S3_ENDPOINT_URL).port
    try:
        with owner.scope():
            service = Service.objects.create(name="svc-hung", model_version=version, status=ServiceStatus.DEPLOYING,
                                             flavor=Flavor.objects.get(code="deploy-free-cpu"))
        with HungS3(upstream_port=moto_port) as hung:  # lists the bundle, then its download hangs
            _point_tenant_at(owner.tenant, hung.url)
            job = deploy(service)
            wait_for(lambda: hung.held, timeout=60, message="the deploy to download from the hung storage")
            assert _api_job(owner, job.pk)["status"] == "running"

            r = owner.client.post(f"/api/v1/jobs/{job.pk}/cancel")
            assert r.status_code == 200, r.content
            body = wait_for(_ended(owner, job.pk), timeout=60, message="the cancelled deploy to end")
            assert (body["status"], body["detail"]) == ("cancelled", "cancelled by the user"), body
            svc = wait_for(lambda: (s := owner.client.get(f"/api/v1/services/{service.pk}").json())["status"]
                           != "deploying" and s, timeout=30, message="the service to leave deploying")
            assert (svc["status"], svc["error"]) == ("failed", "deploy cancelled by the user"), svc
            assert owner.client.post(f"/api/v1/jobs/{job.pk}/cancel").status_code == 409

        # Started again on a storage that answers, it runs; its finished deploy cannot be cancelled.
        _point_tenant_at(owner.tenant, "")
        with owner.scope():
            Service.objects.filter(pk=service.pk).update(status=ServiceStatus.DEPLOYING, error="")
        again = deploy(service)
        body = wait_for(_ended(owner, again.pk), timeout=120, message="the second deploy to end")
        assert body["status"] == "succeeded", body
        assert owner.client.get(f"/api/v1/services/{service.pk}").json()["status"] == "running"
        assert owner.client.post(f"/api/v1/jobs/{again.pk}/cancel").status_code == 409
    finally:
        worker.stop()

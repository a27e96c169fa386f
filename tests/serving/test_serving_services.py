"""Lifecycle rules without a worker: validation, roles, quotas, tenancy, auto-stop."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from exeml.errors import WrongState
from exeml.tenancy.models import Quota
from serving import services
from serving.models import Service, ServiceStatus
from tests.serving.serving_helpers import make_version, running_service, tabular_request

pytestmark = pytest.mark.django_db


def _deploy_url(version) -> str:
    return f"/api/v1/projects/{version.project_id}/versions/{version.pk}/deploy"


def test_deploy_defaults_and_validation(owner, store, tabular_bundle):
    version = make_version(owner, store, tabular_bundle)
    resp = owner.client.post(_deploy_url(version), {}, format="json")
    assert resp.status_code == 202
    body = resp.json()
    assert body["auto_stop"] == {"enabled": True, "hours": 1.0, "idle_minutes": None, "idle_stop_at": None}
    assert body["flavor"] == "deploy-free-cpu"
    assert body["task_type"] == "predictive_analytics" and body["stop_at"]
    # {v} may be the version's name too; a GPU flavor by code; auto stop off.
    resp = owner.client.post(
        f"/api/v1/projects/{version.project_id}/versions/V001/deploy",
        {"flavor": "deploy-free-gpu", "auto_stop": {"enabled": False}}, format="json",
    )
    assert resp.status_code == 202 and resp.json()["stop_at"] is None and resp.json()["flavor"] == "deploy-free-gpu"
    for bad in ({"hours": 0.5}, {"hours": 25}, {"enabled": "yes"}, {"hours": "two"}, 3):
        resp = owner.client.post(_deploy_url(version), {"auto_stop": bad}, format="json")
        assert resp.status_code == 400 and "auto_stop" in resp.json(), bad
    assert owner.client.post(_deploy_url(version), {"flavor": "train-cpu-ci3"}, format="json").status_code == 400
    assert owner.client.post(_deploy_url(version), {"flavor": "nope"}, format="json").json() == {
        "flavor": ["unknown deploy flavor 'nope'"]
    }


def test_confidence_threshold_is_a_detection_setting(owner, store, tabular_bundle):
    from exeml.errors import ApplicationError

    version = make_version(owner, store, tabular_bundle)
    resp = owner.client.post(_deploy_url(version), {"confidence_threshold": 0.5}, format="json")
    assert resp.status_code == 400 and resp.json() == {
        "confidence_threshold": ["only object detection services have a confidence threshold"]
    }
    resp = owner.client.post(_deploy_url(version), {"confidence_threshold": None}, format="json")
    assert resp.status_code == 202 and resp.json()["confidence_threshold"] is None
    detect = "object_detection"
    assert services.confidence_threshold_parse(None, task_type=detect) is None
    assert services.confidence_threshold_parse(0, task_type=detect) == 0.0
    assert services.confidence_threshold_parse(0.4, task_type=detect) == 0.4
    assert services.confidence_threshold_parse(1, task_type=detect) == 1.0
    for bad in (1.01, -0.01, "0.5", True, float("nan"), float("inf"), [0.5], {"value": 0.5}):
        with pytest.raises(ApplicationError) as err:
            services.confidence_threshold_parse(bad, task_type=detect)
        assert err.value.field == "confidence_threshold", bad


def test_only_completed_versions_deploy(owner, store, tabular_bundle):
    version = make_version(owner, store, tabular_bundle, status="running")
    resp = owner.client.post(_deploy_url(version), {}, format="json")
    assert resp.status_code == 409 and resp.json()["status"] == "running"


def test_roles_and_tenants(owner, viewer, outsider, store, tabular_bundle):
    version = make_version(owner, store, tabular_bundle)
    assert viewer.client.post(_deploy_url(version), {}, format="json").status_code == 403
    assert outsider.client.post(_deploy_url(version), {}, format="json").status_code == 404
    service = running_service(owner, version)
    assert viewer.client.get(f"/api/v1/services/{service.pk}").status_code == 200
    assert viewer.client.post(f"/api/v1/services/{service.pk}/stop").status_code == 403
    assert outsider.client.get(f"/api/v1/services/{service.pk}").status_code == 404
    assert outsider.client.get("/api/v1/services").json()["count"] == 0
    body = tabular_request(tabular_bundle.eval_records[:1])
    assert outsider.client.post(f"/v1/infers/{service.pk}", body, format="json").status_code == 404
    # Any member of the tenant may call inference, viewers included.
    assert viewer.client.post(f"/v1/infers/{service.pk}", body, format="json").status_code == 200
    anonymous = owner.client.__class__()
    assert anonymous.post(f"/v1/infers/{service.pk}", body, format="json").status_code == 401


def test_running_service_quota(owner, store, tabular_bundle):
    version = make_version(owner, store, tabular_bundle)
    Quota.objects.filter(tenant=owner.tenant).update(max_running_services=1)
    assert owner.client.post(_deploy_url(version), {}, format="json").status_code == 202
    resp = owner.client.post(_deploy_url(version), {}, format="json")
    assert resp.status_code == 403
    body = resp.json()
    assert body["code"] == "quota_exceeded" and body["quota"] == "max_running_services"
    assert (body["limit"], body["used"]) == (1, 1)
    quotas = {q["quota"]: q for q in owner.client.get("/api/v1/quotas").json()["results"]}
    assert quotas["max_running_services"]["used"] == 1


def test_autostop_beat_and_request_past_stop_at(owner, store, tabular_bundle):
    version = make_version(owner, store, tabular_bundle)
    past = timezone.now() - timedelta(seconds=1)
    due = running_service(owner, version, stop_at=past)
    forever = running_service(owner, version, auto_stop_enabled=False, stop_at=None)
    later = running_service(owner, version)
    expired = running_service(owner, version, stop_at=past)

    # A request past stop_at is refused before beat runs, and stops the service.
    body = tabular_request(tabular_bundle.eval_records[:1])
    resp = owner.client.post(f"/v1/infers/{expired.pk}", body, format="json")
    assert resp.status_code == 409 and resp.json()["status"] == "stopped"

    assert services.services_autostop() == 1
    with owner.scope():
        statuses = {s.pk: s.status for s in Service.objects.all()}
    assert statuses[due.pk] == statuses[expired.pk] == ServiceStatus.STOPPED
    assert statuses[forever.pk] == statuses[later.pk] == ServiceStatus.RUNNING

    # Start again sets a new stop_at in the future.
    with owner.scope():
        started = services.service_start(service=Service.objects.get(pk=due.pk))
    assert started.status == ServiceStatus.DEPLOYING and started.stop_at > timezone.now() + timedelta(minutes=59)


def test_the_beat_task_is_registered():
    from exeml.celery import app

    app.loader.import_default_modules()
    assert "serving.autostop_services" in app.tasks and "serving.deploy_service" in app.tasks


def test_transitions_are_enforced(owner, store, tabular_bundle):
    version = make_version(owner, store, tabular_bundle)
    service = running_service(owner, version)
    with owner.scope():
        with pytest.raises(WrongState):
            services.service_transition(service_id=service.pk, status=ServiceStatus.DEPLOYING)
        services.service_stop(service_id=service.pk)
        with pytest.raises(WrongState):  # a deploy finishing after a stop leaves it stopped
            services.service_transition(service_id=service.pk, status=ServiceStatus.RUNNING)
        with pytest.raises(WrongState):
            services.service_start(service=Service.objects.get(pk=running_service(owner, version).pk))


@pytest.mark.django_db(transaction=True)
def test_deploy_run_in_process(owner, store, tabular_bundle):
    """The worker's side, called directly: running (with the CUDA warning on a GPU flavor
    where onnxruntime has no CUDA), or failed with the reason. Committed rows: the deploy's
    heartbeat thread reads its job on a connection of its own. When the suite's real worker is
    up it gets the same deploy from the queue, as a redelivered message would: whichever run
    ends the job first decides, and the other must not flip the service (it did: a running
    service turned "failed: deploy cancelled" with its job succeeded)."""
    import onnxruntime as ort

    from exeml.jobs.models import Job

    version = make_version(owner, store, tabular_bundle)
    with owner.scope():
        service = services.service_deploy(version=version, flavor_code="deploy-free-gpu")
        service = services.service_deploy_run(service_id=service.pk, job_id=service.deploy_job_id)
        job = Job.objects.get(pk=service.deploy_job_id)
        assert service.status == ServiceStatus.RUNNING and service.started_at is not None, (
            service.error, job.status, job.detail)
        if "CUDAExecutionProvider" not in ort.get_available_providers():
            assert service.warning == "CUDA not available; running on CPU"
        assert Job.objects.get(pk=service.deploy_job_id).status == "succeeded"

    other = make_version(owner, store, tabular_bundle)
    with owner.scope():
        other.artifact_path = other.artifact_path.rstrip("/") + "-missing/"
        other.save(update_fields=["artifact_path"])
        broken = services.service_deploy(version=other)
        broken = services.service_deploy_run(service_id=broken.pk, job_id=broken.deploy_job_id)
        assert broken.status == ServiceStatus.FAILED and "no bundle" in broken.error
        job = Job.objects.get(pk=broken.deploy_job_id)
        assert job.status == "failed" and "no bundle" in job.detail
    resp = owner.client.get(f"/api/v1/services/{broken.pk}").json()
    assert resp["status"] == "failed" and resp["error"]


def test_schema_lists_the_serving_endpoints(api_client):
    resp = api_client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert resp.status_code == 200
    paths = set(resp.json()["paths"]) if resp["Content-Type"].startswith("application/json") else set()
    text = resp.content.decode()
    for path in ("/v1/infers/{service_id}", "/api/v1/services/{id}/metrics", "/api/v1/models/{id}/download",
                 "/api/v1/projects/{project_id}/versions/{version}/deploy"):
        assert path in paths or path in text


def test_list_has_no_n_plus_one_and_a_usable_example(owner, store, tabular_bundle, django_assert_max_num_queries):
    version = make_version(owner, store, tabular_bundle)
    with owner.scope():
        project, dataset = version.project, version.project.dataset
        dataset.table_profile = {"columns": [{"name": c} for c in ("attr_1", "attr_2", "attr_3")],
                                 "preview_rows": [["58", "admin", "yes"]]}
        dataset.save(update_fields=["table_profile"])
        project.label_column = "attr_3"
        project.save(update_fields=["label_column"])
    for _ in range(3):
        running_service(owner, version)
    with django_assert_max_num_queries(8):
        body = owner.client.get("/api/v1/services").json()
    assert body["count"] == 3
    example = body["results"][0]["api_example"]
    assert '"req_data": [{"attr_1": "58", "attr_2": "admin"}]' in example
    assert example.startswith("curl -X POST 'http://testserver/v1/infers/")

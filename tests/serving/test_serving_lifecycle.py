"""Deploy → running with a real worker; serve what training evaluated; stop/start/delete."""

from __future__ import annotations

import pytest

from exeml.tenancy.models import UsageRecord
from serving.metrics import flush_calls
from serving.models import Service
from tests.conftest import wait_for
from tests.serving.serving_helpers import make_version, tabular_request

pytestmark = pytest.mark.django_db(transaction=True)


def _status(actor, service_id: str) -> dict:
    return actor.client.get(f"/api/v1/services/{service_id}").json()


def test_deploy_predict_stop_start_delete(owner, store, celery_worker, tabular_bundle):
    version = make_version(owner, store, tabular_bundle)
    url = f"/api/v1/projects/{version.project_id}/versions/{version.pk}/deploy"
    resp = owner.client.post(url, {"auto_stop": {"enabled": True, "hours": 2}}, format="json")
    assert resp.status_code == 202, resp.content
    body = resp.json()
    assert body["status"] == "deploying" and body["flavor"] == "deploy-free-cpu"
    assert body["model"] == {"id": str(version.pk), "name": f"{version.project.name}-V001"}
    assert body["url"] == f"http://testserver/v1/infers/{body['id']}"
    assert "X-Auth-Token: <your token>" in body["api_example"] and body["url"] in body["api_example"]
    assert body["auto_stop"] == {"enabled": True, "hours": 2.0, "idle_minutes": None, "idle_stop_at": None}
    service_id = body["id"]

    running = wait_for(lambda: (s := _status(owner, service_id))["status"] in ("running", "failed") and s,
                       timeout=60, message="service running")
    assert running["status"] == "running", running["error"]
    assert running["started_at"] and running["stop_at"]
    job = owner.client.get(f"/api/v1/jobs/{body['deploy_job']}").json()
    assert job["kind"] == "service_deploy" and job["status"] == "succeeded"

    # Served predictions equal the evaluation's (same preprocessing at both ends).
    records = tabular_bundle.eval_records
    resp = owner.client.post(f"/v1/infers/{service_id}", tabular_request(records), format="json")
    assert resp.status_code == 200, resp.content
    served = resp.json()["resp_data"]
    assert [r["predictioncol"] for r in served] == [p["predicted"] for p in tabular_bundle.eval_predictions]
    for row, expected in zip(served, tabular_bundle.eval_predictions, strict=True):
        for label, p in expected["probabilities"].items():
            assert row["probabilities"][label] == pytest.approx(p, abs=1e-6)

    # ModelArts' header works as well.
    resp = owner.client.post(f"/v1/infers/{service_id}", tabular_request(records[:1]), format="json",
                             HTTP_AUTHORIZATION="", HTTP_X_AUTH_TOKEN=owner.token)
    assert resp.status_code == 200
    with owner.scope():
        flush_calls()
        service = Service.objects.get(pk=service_id)
        assert (service.invocation_times, service.failed_times) == (2, 0)
        assert UsageRecord.objects.filter(resource="service", resource_id=service.pk, end__isnull=True).count() == 1

    metrics = owner.client.get(f"/api/v1/services/{service_id}/metrics").json()
    assert metrics["calls"] == 2 and metrics["failures"] == 0
    assert set(metrics["latency_ms"]) == {"p50", "p95", "p99"} and metrics["latency_ms"]["p50"] > 0
    assert metrics["last_hour"]["calls"] == 2 and set(metrics["last_hour"]["latency_ms"]) == {"p50", "p95", "p99"}

    assert owner.client.post(f"/api/v1/services/{service_id}/stop").json()["status"] == "stopped"
    resp = owner.client.post(f"/v1/infers/{service_id}", tabular_request(records[:1]), format="json")
    assert resp.status_code == 409 and resp.json()["status"] == "stopped"
    with owner.scope():
        record = UsageRecord.objects.get(resource="service", resource_id=service_id)
        assert record.end is not None and record.minutes >= 0

    resp = owner.client.post(f"/api/v1/services/{service_id}/start", {}, format="json")
    assert resp.status_code == 202 and resp.json()["status"] == "deploying"
    wait_for(lambda: _status(owner, service_id)["status"] == "running", timeout=60, message="running again")
    assert owner.client.post(f"/v1/infers/{service_id}", tabular_request(records[:1]), format="json").status_code == 200

    listed = owner.client.get(f"/api/v1/services?project={version.project_id}").json()
    assert listed["count"] == 1 and listed["results"][0]["id"] == service_id
    assert owner.client.delete(f"/api/v1/services/{service_id}").status_code == 204
    assert owner.client.get(f"/api/v1/services/{service_id}").status_code == 404

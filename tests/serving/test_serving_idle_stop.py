"""Idle stop: validation of auto_stop.idle_minutes, the last call time written by the call
recorder, and beat stopping a service after its idle time and not before."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from serving import services
from serving.metrics import flush_calls
from serving.models import Service, ServiceStatus
from tests.serving.serving_helpers import make_version, running_service, tabular_request

pytestmark = pytest.mark.django_db


def _deploy_url(version) -> str:
    return f"/api/v1/projects/{version.project_id}/versions/{version.pk}/deploy"


def test_idle_minutes_is_validated_and_shown(owner, store, tabular_bundle, settings):
    settings.EXEML_IDLE_STOP_MIN_MINUTES, settings.EXEML_IDLE_STOP_MAX_MINUTES = 5, 1440
    version = make_version(owner, store, tabular_bundle)
    for bad in (0, 4, 1441, -3, "ten", True, 2.5, [5]):
        resp = owner.client.post(_deploy_url(version), {"auto_stop": {"idle_minutes": bad}}, format="json")
        assert resp.status_code == 400, (bad, resp.content)
        assert "idle_minutes" in resp.json()["auto_stop"][0], resp.json()
    resp = owner.client.post(_deploy_url(version), {"auto_stop": {"hours": 2, "idle_minutes": 30}}, format="json")
    assert resp.status_code == 202, resp.content
    body = resp.json()
    assert body["auto_stop"]["idle_minutes"] == 30 and body["auto_stop"]["hours"] == 2.0
    assert body["auto_stop"]["idle_stop_at"] is None  # deploying: the idle clock starts when it runs
    with owner.scope():
        assert Service.objects.get(pk=body["id"]).idle_stop_minutes == 30
    # Start replaces the options: without idle_minutes the idle stop is off again.
    owner.client.post(f"/api/v1/services/{body['id']}/stop")
    resp = owner.client.post(f"/api/v1/services/{body['id']}/start", {"auto_stop": {"hours": 1}}, format="json")
    assert resp.status_code == 202 and resp.json()["auto_stop"]["idle_minutes"] is None
    resp = owner.client.post(f"/api/v1/services/{body['id']}/stop")
    resp = owner.client.post(f"/api/v1/services/{body['id']}/start", {"auto_stop": {"idle_minutes": 1441}},
                             format="json")
    assert resp.status_code == 400 and "idle_minutes" in resp.json()["auto_stop"][0]


def test_calls_move_the_last_call_time_in_batches(owner, store, tabular_bundle):
    version = make_version(owner, store, tabular_bundle)
    service = running_service(owner, version, idle_stop_minutes=10)
    body = tabular_request(tabular_bundle.eval_records[:1])
    flush_calls()
    assert owner.client.post(f"/v1/infers/{service.pk}", body, format="json").status_code == 200
    flush_calls()
    with owner.scope():
        first = Service.objects.get(pk=service.pk).last_call_at
    assert first is not None
    assert owner.client.post(f"/v1/infers/{service.pk}", body, format="json").status_code == 200
    flush_calls()
    with owner.scope():
        second = Service.objects.get(pk=service.pk)
    assert second.last_call_at >= first and second.invocation_times == 2
    shown = owner.client.get(f"/api/v1/services/{service.pk}").json()
    assert shown["last_call_at"] is not None
    assert shown["auto_stop"]["idle_minutes"] == 10 and shown["auto_stop"]["idle_stop_at"] is not None


def test_beat_stops_an_idle_service_after_its_idle_time_and_not_before(owner, store, tabular_bundle, settings):
    settings.EXEML_IDLE_UNIT_SECONDS = 60.0
    version = make_version(owner, store, tabular_bundle)
    start = timezone.now()
    idle = running_service(owner, version, idle_stop_minutes=10, started_at=start, stop_at=start + timedelta(hours=2))
    called = running_service(owner, version, idle_stop_minutes=10, started_at=start,
                             last_call_at=start + timedelta(minutes=8), stop_at=start + timedelta(hours=2))
    no_idle = running_service(owner, version, started_at=start, stop_at=start + timedelta(hours=2))

    def status(service) -> str:
        with owner.scope():
            return Service.objects.get(pk=service.pk).status

    assert services.services_autostop(now=start + timedelta(minutes=9, seconds=59)) == 0
    assert status(idle) == ServiceStatus.RUNNING
    assert services.services_autostop(now=start + timedelta(minutes=10)) == 1
    assert status(idle) == ServiceStatus.STOPPED
    # The one called at minute 8 runs until minute 18; the one without an idle stop keeps running.
    assert services.services_autostop(now=start + timedelta(minutes=17)) == 0
    assert status(called) == ServiceStatus.RUNNING
    assert services.services_autostop(now=start + timedelta(minutes=18, seconds=1)) == 1
    assert status(called) == ServiceStatus.STOPPED and status(no_idle) == ServiceStatus.RUNNING

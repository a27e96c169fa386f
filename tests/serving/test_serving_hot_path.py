"""The inference hot path: a warm request reads and writes no database row, yet a stopped or
deleted service stops answering and another tenant's token never gets the cached service."""

from __future__ import annotations

import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from exeml.tenancy.models import ApiToken, hash_token
from exeml.tenancy.tokencache import auth_cache
from serving.models import Service, ServiceStatus
from tests.serving.serving_helpers import make_version, running_service, tabular_request

pytestmark = pytest.mark.django_db


def test_a_warm_inference_request_makes_no_query(owner, store, tabular_bundle):
    from serving.metrics import call_recorder

    auth_cache.clear()
    service = running_service(owner, make_version(owner, store, tabular_bundle))
    body = tabular_request(tabular_bundle.eval_records[:1])
    url = f"/v1/infers/{service.pk}"
    # Loads the model, caches the token and the service.
    assert owner.client.post(url, body, format="json").status_code == 200
    call_recorder().background = True  # as in production: calls are written by the flusher thread
    try:
        with CaptureQueriesContext(connection) as queries:
            for _ in range(3):
                assert owner.client.post(url, body, format="json").status_code == 200
    finally:
        call_recorder().background = False
    sql = [q["sql"] for q in queries.captured_queries]
    assert sql == [], sql  # no token, membership or service read; no call write
    print("\ninference hot path: 0 queries per warm request")


def test_a_revoked_token_stops_at_once_despite_the_cache(owner, store, tabular_bundle):
    auth_cache.clear()
    service = running_service(owner, make_version(owner, store, tabular_bundle))
    body = tabular_request(tabular_bundle.eval_records[:1])
    url = f"/v1/infers/{service.pk}"
    assert owner.client.post(url, body, format="json").status_code == 200
    ApiToken.objects.get(key_hash=hash_token(owner.token)).revoke()
    assert owner.client.post(url, body, format="json").status_code == 401


def test_stop_and_delete_take_effect_at_once_despite_the_cache(owner, store, tabular_bundle):
    service = running_service(owner, make_version(owner, store, tabular_bundle))
    body = tabular_request(tabular_bundle.eval_records[:1])
    url = f"/v1/infers/{service.pk}"
    assert owner.client.post(url, body, format="json").status_code == 200  # cached now
    assert owner.client.post(f"/api/v1/services/{service.pk}/stop").json()["status"] == "stopped"
    resp = owner.client.post(url, body, format="json")
    assert resp.status_code == 409 and resp.json()["status"] == "stopped"

    other = running_service(owner, service.model_version)
    other_url = f"/v1/infers/{other.pk}"
    assert owner.client.post(other_url, body, format="json").status_code == 200  # cached now
    assert owner.client.delete(f"/api/v1/services/{other.pk}").status_code == 204
    assert owner.client.post(other_url, body, format="json").status_code == 404


def test_a_stop_made_by_another_process_is_seen_within_the_cache_lifetime(
    owner, store, tabular_bundle, settings
):
    settings.EXEML_SERVICE_LOOKUP_CACHE_SECONDS = 0.2
    service = running_service(owner, make_version(owner, store, tabular_bundle))
    body = tabular_request(tabular_bundle.eval_records[:1])
    url = f"/v1/infers/{service.pk}"
    assert owner.client.post(url, body, format="json").status_code == 200  # cached now
    # Another process stops it: the row changes, this process's cache is not told.
    with owner.scope():
        Service.objects.filter(pk=service.pk).update(status=ServiceStatus.STOPPED)
    time.sleep(0.3)
    resp = owner.client.post(url, body, format="json")
    assert resp.status_code == 409 and resp.json()["status"] == "stopped"


def test_a_stop_through_another_web_process_is_seen_at_once(owner, store, tabular_bundle, settings):
    from serving.lookup import _new_generation, service_lookup_cache

    settings.EXEML_SERVICE_LOOKUP_CACHE_SECONDS = 60.0
    service = running_service(owner, make_version(owner, store, tabular_bundle))
    body = tabular_request(tabular_bundle.eval_records[:1])
    url = f"/v1/infers/{service.pk}"
    assert owner.client.post(url, body, format="json").status_code == 200  # cached now
    assert service_lookup_cache.get(service.pk, tenant_id=service.tenant_id) is not None
    # What service_transition does in the other process: the row, then a new generation in the
    # shared cache; this process's own cache is not told.
    with owner.scope():
        Service.objects.filter(pk=service.pk).update(status=ServiceStatus.STOPPED)
    _new_generation(service.pk)
    resp = owner.client.post(url, body, format="json")  # no sleep: well within the 60 s lifetime
    assert resp.status_code == 409 and resp.json()["status"] == "stopped"


def test_another_tenants_token_never_gets_the_cached_service(owner, outsider, store, tabular_bundle):
    service = running_service(owner, make_version(owner, store, tabular_bundle))
    body = tabular_request(tabular_bundle.eval_records[:1])
    url = f"/v1/infers/{service.pk}"
    assert owner.client.post(url, body, format="json").status_code == 200  # cached now
    assert outsider.client.post(url, body, format="json").status_code == 404
    assert owner.client.post(url, body, format="json").status_code == 200

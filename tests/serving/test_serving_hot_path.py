"""The inference hot path: no database write per request, one read (the service)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from exeml.tenancy.models import ApiToken, hash_token
from exeml.tenancy.tokencache import auth_cache
from tests.serving.serving_helpers import make_version, running_service, tabular_request

pytestmark = pytest.mark.django_db

WRITES = ("INSERT", "UPDATE", "DELETE")


def test_an_inference_request_writes_nothing_and_reads_once(owner, store, tabular_bundle):
    from serving.metrics import call_recorder

    auth_cache.clear()
    service = running_service(owner, make_version(owner, store, tabular_bundle))
    body = tabular_request(tabular_bundle.eval_records[:1])
    url = f"/v1/infers/{service.pk}"
    assert owner.client.post(url, body, format="json").status_code == 200  # loads the model, caches the token
    call_recorder().background = True  # as in production: calls are written by the flusher thread
    try:
        with CaptureQueriesContext(connection) as queries:
            for _ in range(3):
                assert owner.client.post(url, body, format="json").status_code == 200
    finally:
        call_recorder().background = False
    sql = [q["sql"] for q in queries.captured_queries]
    assert not [s for s in sql if s.lstrip().upper().startswith(WRITES)], sql
    assert len(sql) <= 3, sql  # the service row, once per request; no auth or membership query
    print(f"\ninference hot path: {len(sql) / 3:.1f} queries per request, 0 writes")


def test_a_revoked_token_stops_at_once_despite_the_cache(owner, store, tabular_bundle):
    auth_cache.clear()
    service = running_service(owner, make_version(owner, store, tabular_bundle))
    body = tabular_request(tabular_bundle.eval_records[:1])
    url = f"/v1/infers/{service.pk}"
    assert owner.client.post(url, body, format="json").status_code == 200
    ApiToken.objects.get(key_hash=hash_token(owner.token)).revoke()
    assert owner.client.post(url, body, format="json").status_code == 401

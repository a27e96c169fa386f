"""Several web replicas share nothing but PostgreSQL, Redis and the object store: a token
revoked, a membership removed or a service stopped through one replica (or any process) is
refused by every other within 2 s, although each keeps tokens and services in memory (here
for 600 s, so the memory's lifetime cannot be what refuses). Readiness and liveness apart."""

from __future__ import annotations

import time
import uuid

import pytest

from exeml.tenancy.models import Membership
from tests.serving.serving_helpers import make_version, running_service, tabular_request
from tests.web_replicas import WebReplica

pytestmark = pytest.mark.django_db(transaction=True)

BOUND_S = 2.0  # the promise: every replica refuses within this much after the change
KEEP = {"EXEML_AUTH_CACHE_SECONDS": "600", "EXEML_SERVICE_LOOKUP_CACHE_SECONDS": "600"}


@pytest.fixture(scope="module")
def replicas(django_db_setup, tmp_path_factory):
    root = tmp_path_factory.mktemp("replicas")
    pair = [WebReplica("a", root, **KEEP), WebReplica("b", root, **KEEP)]
    try:
        for replica in pair:
            replica.start()
        yield pair
    finally:
        for replica in pair:
            replica.stop()


def _after_bound(changed_at: float) -> None:
    """Wait until BOUND_S has passed since the change: any request sent from then on must be
    refused, however long the requests themselves take on a loaded machine."""
    time.sleep(max(0.0, changed_at + BOUND_S - time.monotonic()))


def _warm(replica: WebReplica, path: str, token: str, expect: int, body: dict | None = None) -> None:
    for _ in range(3):  # the first call fills the replica's memory, the next ones come from it
        status, data = replica.request("POST", path, token=token, body=body if body is not None else {})
        assert status == expect, (replica.name, status, data)


def test_a_token_revoked_through_one_replica_is_refused_by_the_other(replicas, owner):
    a, b = replicas
    status, created = a.request("POST", "/api/v1/tokens", token=owner.token, body={"name": "replicas"})
    assert status == 201, created
    key = created["key"]
    nowhere = f"/v1/infers/{uuid.uuid4()}"  # authenticated first: 404 while the token is valid
    _warm(b, nowhere, key, 404)
    _warm(a, nowhere, key, 404)

    status, _ = a.request("DELETE", f"/api/v1/tokens/{created['id']}", token=owner.token)
    changed_at = time.monotonic()
    assert status == 204
    _after_bound(changed_at)
    for replica in (b, a):
        status, data = replica.request("POST", nowhere, token=key, body={})
        assert status == 401, (replica.name, status, data)
    # The owner's own token was never touched.
    assert b.request("POST", nowhere, token=owner.token, body={})[0] == 404


def test_a_removed_membership_is_refused_by_every_replica(replicas, owner, member):
    a, b = replicas
    nowhere = f"/v1/infers/{uuid.uuid4()}"
    _warm(a, nowhere, member.token, 404)
    _warm(b, nowhere, member.token, 404)
    Membership.objects.filter(pk=member.membership.pk).delete()  # e.g. an operator in the admin
    changed_at = time.monotonic()
    _after_bound(changed_at)
    for replica in (a, b):
        status, data = replica.request("POST", nowhere, token=member.token, body={})
        assert status == 401, (replica.name, status, data)


def test_a_service_stopped_through_one_replica_stops_answering_on_the_other(replicas, owner, store,
                                                                             tabular_bundle):
    a, b = replicas
    service = running_service(owner, make_version(owner, store, tabular_bundle))
    path = f"/v1/infers/{service.pk}"
    body = tabular_request(tabular_bundle.eval_records[:1])
    _warm(b, path, owner.token, 200, body)
    _warm(a, path, owner.token, 200, body)

    status, data = a.request("POST", f"/api/v1/services/{service.pk}/stop", token=owner.token, body={})
    changed_at = time.monotonic()
    assert status in (200, 202), data
    _after_bound(changed_at)
    for replica in (b, a):
        status, data = replica.request("POST", path, token=owner.token, body=body)
        assert status != 200 and "running" in str(data), (replica.name, status, data)


def test_readiness_needs_the_broker_while_liveness_needs_nothing(replicas, tmp_path):
    a = replicas[0]
    status, ready = a.request("GET", "/healthz")
    assert status == 200 and ready["ok"] is True, ready
    assert {"database", "broker", "storage"} <= set(ready)
    assert a.request("GET", "/livez") == (200, {"ok": True})

    cut_off = WebReplica("no-broker", tmp_path, CELERY_BROKER_URL="redis://127.0.0.1:9/0").start()
    try:
        status, ready = cut_off.request("GET", "/healthz")
        assert status == 503, ready
        assert ready["ok"] is False and ready["broker"]["ok"] is False and "error" in ready["broker"]
        assert ready["database"]["ok"] is True and ready["storage"]["ok"] is True
        # Alive all the same: an orchestrator must not restart it for a shared outage.
        assert cut_off.request("GET", "/livez") == (200, {"ok": True})
    finally:
        cut_off.stop()


def test_a_hung_shared_cache_costs_bounded_waits_not_hung_inference(owner, store, tabular_bundle, tmp_path):
    """Redis that accepts and never answers: the replica reads its rows from the database
    after EXEML_CACHE_TIMEOUT_SECONDS instead of hanging every inference request."""
    from tests.hung_s3 import HungS3

    service = running_service(owner, make_version(owner, store, tabular_bundle))
    body = tabular_request(tabular_bundle.eval_records[:1])
    with HungS3() as hung:
        replica = WebReplica("hung-cache", tmp_path, EXEML_CACHE_URL=f"redis://127.0.0.1:{hung.port}/0",
                             EXEML_CACHE_TIMEOUT_SECONDS="1", **KEEP).start()
        try:
            for _ in range(2):
                status, data = replica.request("POST", f"/v1/infers/{service.pk}", token=owner.token, body=body,
                                               timeout=30)
                assert status == 200, data
        finally:
            replica.stop()

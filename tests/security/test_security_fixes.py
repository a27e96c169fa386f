"""Fixes from the hostile-user audit: rate limits by real address, token revocation, login
CSRF, the operator apart from tenants, storage outages, private paths, training concurrency,
stop against a late completion."""

from __future__ import annotations

import uuid

import pytest
from django.conf import settings
from rest_framework.settings import api_settings
from rest_framework.test import APIClient

from exeml.api.throttling import AuthThrottle, FailedTokenThrottle
from exeml.errors import public_reason, scrub
from exeml.storage import StorageError, reset_store_cache
from exeml.tenancy.models import Quota, Tenant
from tests.training.helpers_training import tabular_project, train
from training.models import ModelVersion
from training.transitions import version_transition

pytestmark = pytest.mark.django_db


@pytest.fixture
def tight_rate():
    saved = AuthThrottle.THROTTLE_RATES, FailedTokenThrottle.THROTTLE_RATES
    AuthThrottle.THROTTLE_RATES = FailedTokenThrottle.THROTTLE_RATES = {
        **api_settings.DEFAULT_THROTTLE_RATES, "auth": "3/min"}
    yield
    AuthThrottle.THROTTLE_RATES, FailedTokenThrottle.THROTTLE_RATES = saved


def _address() -> str:
    n = uuid.uuid4().int
    return f"10.{n % 250}.{(n >> 8) % 250}.{(n >> 16) % 250 + 1}"  # its own counters: no cache flush


def _login(owner, address: str, forwarded: str | None = None) -> int:
    extra = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded else {}
    client = APIClient(REMOTE_ADDR=address)
    body = {"username": owner.user.username, "password": "wrong"}
    return client.post("/api/v1/auth/token", body, format="json", **extra).status_code


def test_a_new_x_forwarded_for_per_request_does_not_escape_the_login_throttle(owner, tight_rate):
    address = _address()
    codes = [_login(owner, address, forwarded=f"203.0.113.{i}") for i in range(6)]
    assert codes == [401, 401, 401, 429, 429, 429], codes


def test_behind_a_trusted_proxy_the_forwarded_client_is_the_key(owner, tight_rate, settings):
    proxy = _address()
    settings.EXEML_TRUSTED_PROXIES = [proxy]
    # Distinct clients behind the proxy each have their own budget...
    assert [_login(owner, proxy, forwarded=f"198.51.100.{i + 1}, {proxy}") for i in range(4)] == [401] * 4
    # ...and one client is throttled whatever it prepends to the header itself.
    client = f"198.51.100.{uuid.uuid4().int % 200 + 20}"
    codes = [_login(owner, proxy, forwarded=f"1.2.3.{i}, {client}") for i in range(5)]
    assert codes == [401, 401, 401, 429, 429], codes


def test_invalid_tokens_are_throttled_but_a_valid_token_always_passes(owner, tight_rate):
    client = APIClient(REMOTE_ADDR=_address())
    bad = f"bad-{uuid.uuid4().hex}-"
    codes = [client.get("/api/v1/me", HTTP_X_AUTH_TOKEN=f"{bad}{i}").status_code for i in range(5)]
    assert codes == [401, 401, 401, 429, 429], codes
    # Someone else behind the same address (an office NAT, a proxy not in EXEML_TRUSTED_PROXIES)
    # is not locked out by those failures, in either header...
    assert client.get("/api/v1/me", HTTP_X_AUTH_TOKEN=owner.token).status_code == 200
    assert client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Token {owner.token}").status_code == 200
    # ...while guessing from that address stays throttled.
    assert client.get("/api/v1/me", HTTP_X_AUTH_TOKEN=f"{bad}again").status_code == 429


def test_one_invalid_token_is_throttled_from_any_address(tight_rate, db):
    bad = f"revoked-{uuid.uuid4().hex}"
    codes = [APIClient(REMOTE_ADDR=_address()).get("/api/v1/me", HTTP_X_AUTH_TOKEN=bad).status_code
             for _ in range(5)]
    assert codes == [401, 401, 401, 429, 429], codes
    # Other addresses' other tokens are their own business.
    assert APIClient(REMOTE_ADDR=_address()).get("/api/v1/me", HTTP_X_AUTH_TOKEN=bad + "x").status_code == 401


def test_logout_revokes_the_token_when_asked(owner):
    from exeml.tenancy.services import token_issue

    keep = token_issue(user=owner.user, tenant=owner.tenant)
    client = APIClient()
    assert client.post("/api/v1/auth/logout", {}, format="json", HTTP_X_AUTH_TOKEN=keep).status_code == 204
    assert client.get("/api/v1/me", HTTP_X_AUTH_TOKEN=keep).status_code == 200  # not asked: still valid
    r = client.post("/api/v1/auth/logout", {"revoke_token": True}, format="json", HTTP_X_AUTH_TOKEN=keep)
    assert r.status_code == 204
    assert client.get("/api/v1/me", HTTP_X_AUTH_TOKEN=keep).status_code == 401
    assert client.post("/api/v1/auth/logout", {"revoke_token": "maybe"}, format="json",
                       HTTP_X_AUTH_TOKEN=owner.token).status_code == 400


def test_login_from_a_cross_site_form_is_refused(owner):
    client = APIClient(enforce_csrf_checks=True)
    body = {"username": owner.user.username, "password": "pw-" + owner.user.username}
    r = client.post("/api/v1/auth/login", body, format="multipart")
    assert r.status_code == 403 and "CSRF" in r.json()["detail"], r.content
    client.get("/api/v1/auth/csrf")
    r = client.post("/api/v1/auth/login", body, format="json", HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value)
    assert r.status_code == 200, r.content


def test_the_demo_owner_is_not_a_superuser_and_the_operator_is_apart(db):
    from django.test import Client

    from exeml import cli

    settings.EXEML_HOME.mkdir(parents=True, exist_ok=True)
    marker = settings.EXEML_HOME / "demo-login.txt"
    if not marker.exists():
        marker.write_text("demo-password")  # skips installing the demo projects
    username, password, _token = cli._demo_login()
    operator, operator_password = cli._operator_login()
    from django.contrib.auth import get_user_model

    users = get_user_model().objects
    demo = users.get(username=username)
    assert not demo.is_superuser and not demo.is_staff
    assert users.get(username=operator).is_superuser and not users.get(username=operator).memberships.exists()
    web = Client()
    assert web.login(username=username, password=password)
    assert web.get("/admin/tenancy/tenant/").status_code == 302  # to the admin login
    assert web.login(username=operator, password=operator_password)
    assert web.get("/admin/tenancy/tenant/").status_code == 200


def test_storage_unreachable_is_a_503_with_a_reason_naming_no_endpoint(owner, store):
    Tenant.objects.filter(pk=owner.tenant.pk).update(s3_endpoint_url="http://127.0.0.1:9")
    reset_store_cache()
    try:
        root = owner.tenant.default_root
        for r in (owner.client.get("/api/v1/storage/browse", {"path": root}),
                  owner.client.post("/api/v1/storage/folders", {"path": root + "new/"}, format="json")):
            assert r.status_code == 503, r.content
            assert r.json()["code"] == "storage_unavailable" and "try again" in r.json()["detail"]
            assert b"127.0.0.1" not in r.content
    finally:
        reset_store_cache()


def test_user_facing_reasons_carry_no_server_path_or_endpoint():
    home = str(settings.EXEML_HOME)
    reason = public_reason(StorageError(f"[Errno 36] File name too long: '{home}/objects/exeml/t/x'"))
    assert home not in reason and "File name too long" in reason
    assert "minio.internal" not in scrub("Could not connect to the endpoint URL: \"http://minio.internal:9000/b\"")
    assert public_reason(RuntimeError(f"boom at {home}/work/x")) == "boom at …/work/x"


def test_one_training_per_project_unless_the_quota_allows_more(owner, store):
    project = tabular_project(owner, store)
    assert train(owner, project, max_minutes=6).status_code == 202
    r = train(owner, project, max_minutes=6)
    assert r.status_code == 409 and "quota allows 1 at once" in r.json()["detail"], r.content
    Quota.objects.filter(tenant=owner.tenant).update(max_running_trainings_per_project=2)
    assert train(owner, project, max_minutes=6).status_code == 202


def test_stop_on_a_running_version_wins_over_a_late_completion(owner, store):
    project = tabular_project(owner, store)
    assert train(owner, project, max_minutes=6).status_code == 202
    with owner.scope():
        version = ModelVersion.objects.get(project=project, name="V001")
        version_transition(version_id=version.pk, status="running")
    r = owner.client.post(f"/api/v1/projects/{project.pk}/versions/V001/stop")
    assert r.status_code == 200 and r.json()["stop_requested"] is True
    with owner.scope():
        done = version_transition(version_id=version.pk, status="completed", metrics={"accuracy": 1.0})
    assert done.status == "stopped"
    assert owner.client.get(f"/api/v1/projects/{project.pk}/versions/V001").json()["status"] == "stopped"
    assert owner.client.post(f"/api/v1/projects/{project.pk}/versions/V001/stop").status_code == 409


def test_a_300_character_folder_name_is_a_400_with_the_reason(owner, store):
    r = owner.client.post("/api/v1/storage/folders", {"path": owner.tenant.default_root + "a" * 300 + "/"},
                          format="json")
    assert r.status_code == 400 and "longer than 255 bytes" in str(r.json()), r.content

"""Auth, roles, quotas, scoping and the router walk (issue 2)."""

import uuid

import pytest
from rest_framework.test import APIClient

from exeml.api.views import TenantScopedMixin
from exeml.tenancy.models import ApiToken, Quota
from exeml.tenancy.scoping import TenantScopeError, tenant_scope, unscoped
from exeml.tenancy.views import PublicAPIView
from tests.routes import api_patterns, fill, view_class

pytestmark = pytest.mark.django_db


def test_every_api_view_is_tenant_scoped_or_explicitly_public():
    routes = list(api_patterns())
    assert len(routes) > 10
    unscoped_views = []
    for route, pattern in routes:
        cls = view_class(pattern)
        assert cls is not None, f"{route} is not a class-based view"
        if issubclass(cls, PublicAPIView):
            continue
        if not issubclass(cls, TenantScopedMixin):
            unscoped_views.append(route)
    assert unscoped_views == []


def test_unknown_ids_are_404_never_500(owner):
    """Every route with an id answers 404 for an id that is not the caller's."""
    checked = 0
    for route, _pattern in api_patterns():
        if "<" not in route and "(?P" not in route:
            continue
        url = fill(route)
        response = owner.client.get(url)
        if response.status_code == 405:
            response = owner.client.post(url, {}, format="json")
        assert response.status_code in (404, 405), (route, url, response.status_code, response.content[:300])
        checked += 1
    assert checked > 0


def test_token_in_both_headers(owner):
    r = APIClient().get("/api/v1/me", HTTP_AUTHORIZATION=f"Token {owner.token}")
    assert r.status_code == 200 and r.json()["tenant"]["slug"] == owner.tenant.slug
    r = APIClient().get("/api/v1/me", HTTP_X_AUTH_TOKEN=owner.token)
    assert r.status_code == 200 and r.json()["role"] == "owner"


def test_missing_bad_and_revoked_tokens_are_401(owner):
    assert APIClient().get("/api/v1/me").status_code == 401
    assert APIClient().get("/api/v1/me", HTTP_X_AUTH_TOKEN="nope").status_code == 401
    assert APIClient().get("/api/v1/me", HTTP_AUTHORIZATION="Token nope").status_code == 401
    ApiToken.objects.get(user=owner.user).revoke()
    assert APIClient().get("/api/v1/me", HTTP_X_AUTH_TOKEN=owner.token).status_code == 401


def test_token_endpoint_issues_a_working_token(owner):
    r = APIClient().post(
        "/api/v1/auth/token", {"username": owner.user.username, "password": "pw-" + owner.user.username}, format="json"
    )
    assert r.status_code == 201
    body = r.json()
    assert body["tenant"] == owner.tenant.slug and body["user"] == owner.user.username
    assert APIClient().get("/api/v1/me", HTTP_X_AUTH_TOKEN=body["token"]).status_code == 200
    bad = APIClient().post("/api/v1/auth/token", {"username": owner.user.username, "password": "x"}, format="json")
    assert bad.status_code == 401
    # Only the hash is stored.
    assert not ApiToken.objects.filter(key_hash=body["token"]).exists()


def test_session_login_for_console(owner):
    client = APIClient(enforce_csrf_checks=True)
    client.get("/api/v1/auth/csrf")
    csrf = client.cookies["csrftoken"].value
    r = client.post(
        "/api/v1/auth/login",
        {"username": owner.user.username, "password": "pw-" + owner.user.username},
        format="json",
        HTTP_X_CSRFTOKEN=csrf,
    )
    assert r.status_code == 200, r.content
    assert client.get("/api/v1/me").json()["user"]["username"] == owner.user.username


def test_viewer_cannot_write(viewer):
    r = viewer.client.post("/api/v1/storage/folders", {"path": viewer.tenant.default_root + "x/"}, format="json")
    assert r.status_code == 403
    assert viewer.client.get("/api/v1/me").status_code == 200


def test_quota_exceeded_shape(owner):
    from exeml.errors import QuotaExceeded
    from exeml.tenancy.services import quota_check, usage_register

    usage_register("max_running_services", lambda tenant: 3)
    Quota.objects.filter(tenant=owner.tenant).update(max_running_services=3)
    with pytest.raises(QuotaExceeded) as info:
        quota_check(tenant=owner.tenant, quota="max_running_services")
    from exeml.api.errors import application_error_response

    response = application_error_response(info.value)
    assert response.status_code == 403
    assert response.data == {
        "detail": info.value.message, "code": "quota_exceeded", "quota": "max_running_services", "limit": 3, "used": 3,
    }
    quotas = owner.client.get("/api/v1/quotas").json()["results"]
    assert {q["quota"] for q in quotas} >= {"max_projects", "max_running_services"}


def test_scoped_manager_fails_closed(tenant, other_tenant):
    from exeml.jobs.models import Job

    with pytest.raises(TenantScopeError):
        list(Job.objects.all())
    with tenant_scope(tenant):
        Job.objects.create(kind="x")
    with tenant_scope(other_tenant):
        assert Job.objects.count() == 0
    with unscoped():
        assert Job.objects.filter(tenant=tenant).count() == 1


def test_all_tenants_is_only_usable_inside_unscoped(tenant, other_tenant):
    from exeml.jobs.models import Job

    for owner_tenant in (tenant, other_tenant):
        with tenant_scope(owner_tenant):
            Job.objects.create(kind="x")
    # Not even with a tenant in scope: all_tenants is the cross-tenant escape and says so.
    with tenant_scope(tenant), pytest.raises(TenantScopeError, match="unscoped"):
        Job.all_tenants.count()
    with pytest.raises(TenantScopeError):
        Job.all_tenants.filter(tenant=tenant)
    with unscoped():
        assert Job.all_tenants.count() == 2


def test_flavors_seeded_and_listed(owner):
    r = owner.client.get("/api/v1/flavors")
    assert r.status_code == 200
    names = {f["name"] for f in r.json()["results"]}  # a page, like every list (API.md)
    assert {"Free (GPU)", "Compute-intensive 1 instance (GPU)", "Free (CPU)", "Compute-intensive 3 instance (CPU)",
            "Compute-intensive 2 instance (GPU)"} <= names


def test_schema_docs_and_admin_render(client, owner):
    assert client.get("/api/schema/").status_code == 200
    assert client.get("/api/docs/").status_code == 200
    assert client.get("/admin/login/").status_code == 200


def test_jobs_of_another_tenant_are_404(owner, outsider):
    from exeml.jobs.models import Job

    with outsider.scope():
        job = Job.objects.create(kind="x")
    assert owner.client.get(f"/api/v1/jobs/{job.pk}").status_code == 404
    assert outsider.client.get(f"/api/v1/jobs/{job.pk}").status_code == 200


def test_password_guessing_is_rate_limited(owner, settings):
    from rest_framework.settings import api_settings

    from exeml.api.throttling import AuthThrottle

    original = AuthThrottle.THROTTLE_RATES
    AuthThrottle.THROTTLE_RATES = {**api_settings.DEFAULT_THROTTLE_RATES, "auth": "3/min"}
    address = f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.7"  # its own counter, no cache flush
    try:
        codes = [
            APIClient(REMOTE_ADDR=address)
            .post("/api/v1/auth/token", {"username": owner.user.username, "password": "x"}, format="json")
            .status_code
            for _ in range(5)
        ]
    finally:
        AuthThrottle.THROTTLE_RATES = original
    assert codes[:3] == [401, 401, 401]
    assert codes[3:] == [429, 429]


def test_admin_lists_every_tenants_rows_through_unscoped(client, owner, outsider):
    from exeml.jobs.models import Job

    jobs = []
    for actor in (owner, outsider):
        with actor.scope():
            jobs.append(Job.objects.create(kind="admin-probe"))
    owner.user.is_staff = owner.user.is_superuser = True
    owner.user.save(update_fields=["is_staff", "is_superuser"])
    client.force_login(owner.user)
    r = client.get("/admin/jobs/job/?kind=admin-probe")
    assert r.status_code == 200
    assert all(str(job.pk) in r.content.decode() for job in jobs)
    assert client.get("/admin/datasets/label/").status_code == 200

"""Tenants' storage secret keys: encrypted at rest, never in an API response or an admin page."""

from __future__ import annotations

import json

import pytest
from django.conf import settings
from django.db import connection
from django.forms.models import model_to_dict
from django.test import Client

from exeml.storage import reset_store_cache
from exeml.tenancy.admin import TenantForm
from exeml.tenancy.models import Tenant
from exeml.tenancy.secrets import decrypt, encrypt, fernet

pytestmark = pytest.mark.django_db

SECRET = "SuperSecretKey-9f8e7d6c5b4a"


@pytest.fixture
def tenant_with_keys(owner, store):
    Tenant.objects.filter(pk=owner.tenant.pk).update(
        s3_endpoint_url=settings.EXEML_S3_ENDPOINT_URL or "", s3_access_key="AKIDTENANT", s3_secret_key=SECRET
    )
    reset_store_cache()
    owner.tenant.refresh_from_db()
    yield owner
    reset_store_cache()


def _raw_secret(tenant_id) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT s3_secret_key FROM tenancy_tenant WHERE id = %s", [tenant_id.hex if connection.vendor == "sqlite" else tenant_id])
        return cursor.fetchone()[0]


def test_the_secret_is_encrypted_at_rest_and_read_back(tenant_with_keys):
    raw = _raw_secret(tenant_with_keys.tenant.pk)
    assert SECRET not in raw and raw.startswith("gAAAAA")
    assert Tenant.objects.get(pk=tenant_with_keys.tenant.pk).s3_secret_key == SECRET
    assert decrypt(encrypt("x")) == "x" and fernet().decrypt(raw.encode()).decode() == SECRET


def test_rotation_keeps_old_secrets_readable_and_reencrypts(tenant_with_keys, settings):
    from cryptography.fernet import Fernet
    from django.core.management import call_command

    old_raw = _raw_secret(tenant_with_keys.tenant.pk)
    new_key = Fernet.generate_key().decode()
    # The old key (derived from the secret key) stays second until the rotation has run.
    from exeml.tenancy.secrets import _derived_key

    settings.EXEML_FERNET_KEYS = [new_key, _derived_key(settings.SECRET_KEY).decode()]
    assert Tenant.objects.get(pk=tenant_with_keys.tenant.pk).s3_secret_key == SECRET
    call_command("rotate_secrets")
    new_raw = _raw_secret(tenant_with_keys.tenant.pk)
    assert new_raw != old_raw and Fernet(new_key.encode()).decrypt(new_raw.encode()).decode() == SECRET
    settings.EXEML_FERNET_KEYS = [new_key]
    assert Tenant.objects.get(pk=tenant_with_keys.tenant.pk).s3_secret_key == SECRET


def test_no_api_response_carries_the_secret(tenant_with_keys):
    owner = tenant_with_keys
    root = owner.tenant.default_root
    urls = ["/api/v1/me", "/api/v1/quotas", "/api/v1/flavors", "/api/v1/usage", "/api/v1/jobs", "/api/v1/datasets",
            "/api/v1/projects", "/api/v1/services", f"/api/v1/storage/browse?path={root}", "/api/schema/"]
    for url in urls:
        r = owner.client.get(url)
        assert r.status_code in (200, 404), (url, r.status_code)
        assert SECRET.encode() not in r.content, url
    r = owner.client.post("/api/v1/storage/folders", {"path": root + "newfolder/"}, format="json")
    assert SECRET.encode() not in r.content


def test_no_admin_page_shows_the_secret_and_the_form_is_write_only(tenant_with_keys):
    from django.contrib.auth import get_user_model

    operator = get_user_model().objects.create_superuser("operator-sec", password="pw-operator")
    client = Client()
    client.force_login(operator)
    tenant = tenant_with_keys.tenant
    for url in ["/admin/tenancy/tenant/", f"/admin/tenancy/tenant/{tenant.pk}/change/", "/admin/tenancy/quota/",
                f"/admin/tenancy/tenant/{tenant.pk}/history/", "/admin/tenancy/tenant/add/"]:
        r = client.get(url)
        assert r.status_code == 200, url
        assert SECRET.encode() not in r.content, url
        assert _raw_secret(tenant.pk).encode() not in r.content, url

    data = {k: v for k, v in model_to_dict(tenant).items() if v is not None}
    data["storage_roots"] = json.dumps(tenant.storage_roots)
    data["s3_secret_key"] = ""  # left empty: the stored key is kept
    form = TenantForm(data=data, instance=tenant)
    assert form.is_valid(), form.errors
    form.save()
    assert Tenant.objects.get(pk=tenant.pk).s3_secret_key == SECRET
    form = TenantForm(data={**data, "s3_secret_key": "another-secret"}, instance=Tenant.objects.get(pk=tenant.pk))
    assert form.is_valid(), form.errors
    form.save()
    assert Tenant.objects.get(pk=tenant.pk).s3_secret_key == "another-secret"

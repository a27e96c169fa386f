"""Store selection from settings and from a tenant's own endpoint (no database needed)."""

from __future__ import annotations

import os
import threading
from types import SimpleNamespace

import pytest

pytest.importorskip("django")

from django.conf import settings  # noqa: E402
from django.test import override_settings  # noqa: E402

from exeml.storage import (  # noqa: E402
    LocalObjectStore,
    S3ObjectStore,
    default_store,
    reset_store_cache,
    store_for_tenant,
)

if not settings.configured and not os.environ.get("DJANGO_SETTINGS_MODULE"):
    # Lets this file run before exeml/settings.py exists (pytest -p no:django).
    settings.configure()


@pytest.fixture(autouse=True)
def _fresh_cache():
    reset_store_cache()
    yield
    reset_store_cache()


def test_default_is_local_without_endpoint(tmp_path) -> None:
    with override_settings(EXEML_S3_ENDPOINT_URL="", EXEML_LOCAL_STORE_ROOT=str(tmp_path / "objects")):
        store = default_store()
        assert isinstance(store, LocalObjectStore)
        assert store.root == tmp_path / "objects"
        assert default_store() is store
        assert not (tmp_path / "objects").exists()  # choosing a store does no I/O


def test_default_is_s3_with_endpoint() -> None:
    with override_settings(
        EXEML_S3_ENDPOINT_URL="http://minio:9000",
        AWS_ACCESS_KEY_ID="ak",
        AWS_SECRET_ACCESS_KEY="sk",
        EXEML_S3_REGION="eu-west-1",
        EXEML_MULTIPART_THRESHOLD=16 * 1024 * 1024,
    ):
        store = default_store()
        assert isinstance(store, S3ObjectStore)
        assert (store.endpoint_url, store.region, store.multipart_threshold) == (
            "http://minio:9000",
            "eu-west-1",
            16 * 1024 * 1024,
        )
        assert store.client.meta.config.s3["addressing_style"] == "path"
        assert default_store() is store


def test_tenant_endpoint_overrides_default(tmp_path) -> None:
    with override_settings(EXEML_S3_ENDPOINT_URL="", EXEML_LOCAL_STORE_ROOT=str(tmp_path)):
        plain = SimpleNamespace(s3_endpoint_url="", s3_access_key="", s3_secret_key="", s3_region="")
        assert store_for_tenant(plain) is default_store()
        own = SimpleNamespace(
            s3_endpoint_url="https://obs.example.com", s3_access_key="a", s3_secret_key="s", s3_region=""
        )
        store = store_for_tenant(own)
        assert isinstance(store, S3ObjectStore)
        assert store.endpoint_url == "https://obs.example.com" and store.region == "us-east-1"
        assert store.multipart_threshold == 8 * 1024 * 1024
        assert store_for_tenant(SimpleNamespace(**vars(own))) is store
        rotated = SimpleNamespace(**{**vars(own), "s3_secret_key": "s2"})
        assert store_for_tenant(rotated) is not store


def test_cache_is_thread_safe(tmp_path) -> None:
    tenant = SimpleNamespace(s3_endpoint_url="http://127.0.0.1:9", s3_access_key="a", s3_secret_key="b")
    results = []
    with override_settings(EXEML_LOCAL_STORE_ROOT=str(tmp_path)):
        threads = [
            threading.Thread(target=lambda: results.append(store_for_tenant(tenant))) for _ in range(8)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert len(results) == 8 and len({id(s) for s in results}) == 1

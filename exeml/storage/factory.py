"""Which object store to use: the platform default or a tenant's own S3/OBS endpoint.

Settings are read lazily inside the functions, never at import time.
"""

from __future__ import annotations

import threading
from typing import Any

from .base import ObjectStore
from .local import LocalObjectStore
from .s3 import S3ObjectStore

__all__ = ["DEFAULT_MULTIPART_THRESHOLD", "default_store", "reset_store_cache", "store_for_tenant"]

DEFAULT_MULTIPART_THRESHOLD = 8 * 1024 * 1024

_lock = threading.Lock()
_stores: dict[tuple[Any, ...], ObjectStore] = {}


def _settings() -> Any:
    from django.conf import settings

    return settings


def _cached(key: tuple[Any, ...], build: Any) -> ObjectStore:
    # boto3 clients are thread-safe once built, and building one costs ~50 ms: share them.
    with _lock:
        store = _stores.get(key)
        if store is None:
            store = build()
            _stores[key] = store
        return store


def _s3_store(endpoint: str, access_key: str, secret_key: str, region: str, threshold: int) -> ObjectStore:
    stall = float(getattr(_settings(), "EXEML_STORAGE_STALL_SECONDS", 300))
    key = ("s3", endpoint, access_key, secret_key, region, threshold, stall)
    return _cached(
        key,
        lambda: S3ObjectStore(
            endpoint, access_key, secret_key, region, multipart_threshold=threshold, stall_seconds=stall
        ),
    )


def _threshold() -> int:
    return int(getattr(_settings(), "EXEML_MULTIPART_THRESHOLD", DEFAULT_MULTIPART_THRESHOLD))


def default_store() -> ObjectStore:
    """The platform's store: S3 when EXEML_S3_ENDPOINT_URL is set, else the local folder."""
    settings = _settings()
    endpoint = getattr(settings, "EXEML_S3_ENDPOINT_URL", "") or ""
    if endpoint:
        return _s3_store(
            endpoint,
            getattr(settings, "AWS_ACCESS_KEY_ID", "") or "",
            getattr(settings, "AWS_SECRET_ACCESS_KEY", "") or "",
            getattr(settings, "EXEML_S3_REGION", "") or "us-east-1",
            _threshold(),
        )
    root = str(settings.EXEML_LOCAL_STORE_ROOT)
    return _cached(("local", root), lambda: LocalObjectStore(root))


def store_for_tenant(tenant: Any) -> ObjectStore:
    """The tenant's own S3/OBS endpoint when it has one configured, else the default store."""
    endpoint = getattr(tenant, "s3_endpoint_url", "") or ""
    if not endpoint:
        return default_store()
    return _s3_store(
        endpoint,
        getattr(tenant, "s3_access_key", "") or "",
        getattr(tenant, "s3_secret_key", "") or "",
        getattr(tenant, "s3_region", "") or "us-east-1",
        _threshold(),
    )


def reset_store_cache() -> None:
    """Forget cached stores (tests, or after a tenant rotates its keys)."""
    with _lock:
        _stores.clear()

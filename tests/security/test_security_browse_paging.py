"""Browsing pages deep into a folder is bounded and still returns key order."""

from __future__ import annotations

import pytest
from django.conf import settings

from exeml.storage_api.views import MAX_SKIPPED_ENTRIES

pytestmark = pytest.mark.django_db


def test_small_pages_walk_the_folder_in_key_order(owner, store):
    root_key = owner.tenant.default_root.split("/", 3)[3]
    base = root_key + "browse/"
    keys = [f"{base}{n}" for n in ("a.txt", "b/", "c.txt", "d/", "e.txt")]
    for key in keys:
        store.put(settings.EXEML_BUCKET, key, b"" if key.endswith("/") else b"x")
    store.put(settings.EXEML_BUCKET, base + "b/inner.txt", b"x")
    seen, token = [], None
    while True:
        params = {"path": owner.tenant.default_root + "browse/", "limit": 2}
        if token:
            params["token"] = token
        body = owner.client.get("/api/v1/storage/browse", params).json()
        seen += body["folders"] + [o["path"] for o in body["objects"]]
        token = body["next_token"]
        if not token:
            break
    assert sorted(seen) == [f"s3://{settings.EXEML_BUCKET}/{k}" for k in keys]


def test_paging_past_the_scan_limit_is_400(owner, store):
    r = owner.client.get("/api/v1/storage/browse", {"limit": 1000, "token": MAX_SKIPPED_ENTRIES // 1000 + 2})
    assert r.status_code == 400 and "token" in r.json()

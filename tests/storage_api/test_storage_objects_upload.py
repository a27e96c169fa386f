"""Putting one file into storage (POST /api/v1/storage/objects): confined to the tenant's
roots, name rules, no silent overwrite, size limit, roles."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from exeml.storage import parse_storage_path, store_for_tenant
from tests.datasets.helpers import folder

pytestmark = pytest.mark.django_db

CSV = b"1,a,yes\n2,b,no\n"


@pytest.fixture(autouse=True)
def _bucket(store):
    return store


def _post(actor, path: str, data: bytes = CSV, **extra):
    body = {"path": path, "file": SimpleUploadedFile("local.csv", data), **extra}
    return actor.client.post("/api/v1/storage/objects", body, format="multipart")


def test_put_object_then_refuse_overwrite_unless_asked(owner):
    path = folder(owner.tenant) + "table.csv"
    r = _post(owner, path)
    assert r.status_code == 201, r.content
    assert r.json()["path"] == path and r.json()["size"] == len(CSV)
    p = parse_storage_path(path)
    assert store_for_tenant(owner.tenant).open(p.bucket, p.key).read() == CSV
    again = _post(owner, path, b"3,c,yes\n")
    assert again.status_code == 400 and "overwrite" in again.json()["path"][0]
    assert _post(owner, path, b"3,c,yes\n", overwrite="true").status_code == 201
    assert store_for_tenant(owner.tenant).open(p.bucket, p.key).read() == b"3,c,yes\n"


def test_bad_paths_and_files_are_400_naming_the_field(owner, other_tenant, settings):
    base = folder(owner.tenant)
    for bad in (base, other_tenant.default_root + "x/t.csv", base + "../../etc/t.csv", base + "a*b.csv",
                base + ".hidden.csv", "not-a-path", base + "bad\x01name.csv",
                base + "model.onnx", base + "bundle.json"):
        r = _post(owner, bad)
        assert r.status_code == 400 and "path" in r.json(), (bad, r.content)
    empty = _post(owner, base + "empty.csv", b"")
    assert empty.status_code == 400 and ("file" in empty.json())
    settings.EXEML_LIMITS = {**settings.EXEML_LIMITS, "upload_request_max_bytes": 1024}
    assert _post(owner, base + "big.csv", b"x" * 4096).status_code == 413


def test_viewers_may_not_put_objects(viewer):
    assert _post(viewer, folder(viewer.tenant) + "t.csv").status_code == 403

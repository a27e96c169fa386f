"""Storage browse and folder creation, confined to the tenant's roots."""

from __future__ import annotations

import pytest

from tests.datasets.helpers import folder, jpeg, put_files


@pytest.fixture(autouse=True)
def _bucket(store):
    return store


@pytest.mark.django_db
def test_browse_lists_folders_and_objects_with_paging(owner):
    base = folder(owner.tenant)
    put_files(owner.tenant, base, [("a.jpg", jpeg()), ("b.jpg", jpeg()), ("sub/c.jpg", jpeg())])
    r = owner.client.get("/api/v1/storage/browse", {"path": base})
    assert r.status_code == 200, r.json()
    body = r.json()
    assert body["path"] == base and body["folders"] == [base + "sub/"]
    assert [o["path"] for o in body["objects"]] == [base + "a.jpg", base + "b.jpg"]
    assert body["objects"][0]["size"] > 0 and body["next_token"] is None
    first = owner.client.get("/api/v1/storage/browse", {"path": base, "limit": 1}).json()
    assert len(first["objects"]) + len(first["folders"]) >= 1 and first["next_token"] == "2"
    second = owner.client.get("/api/v1/storage/browse", {"path": base, "limit": 1, "token": "2"}).json()
    assert second["objects"] != first["objects"] or second["folders"] != first["folders"]
    default = owner.client.get("/api/v1/storage/browse").json()
    assert default["path"] == owner.tenant.default_root and base in default["folders"]


@pytest.mark.django_db
def test_browse_outside_roots_is_400(owner, other_tenant):
    for path in [other_tenant.default_root, "s3://exeml/", "s3://exeml/../x/", "ftp://x"]:
        r = owner.client.get("/api/v1/storage/browse", {"path": path})
        assert r.status_code == 400 and "path" in r.json(), (path, r.json())


@pytest.mark.django_db
def test_create_folder(owner, viewer):
    base = owner.tenant.default_root
    r = owner.client.post("/api/v1/storage/folders", {"path": base + "x/y/z"}, format="json")
    assert r.status_code == 201 and r.json()["path"] == base + "x/y/z/"
    assert base + "x/y/" in owner.client.get("/api/v1/storage/browse", {"path": base + "x/"}).json()["folders"]
    for bad in [base + "a:b", base + ".hidden", base + "a*b/", "s3://exeml/elsewhere/"]:
        r = owner.client.post("/api/v1/storage/folders", {"path": bad}, format="json")
        assert r.status_code == 400 and "path" in r.json(), (bad, r.json())
    assert viewer.client.post("/api/v1/storage/folders", {"path": base + "v"}, format="json").status_code == 403

"""User-given storage paths: traversal, encodings, other tenants' roots and buckets."""

from __future__ import annotations

import uuid

import pytest

from datasets.models import Dataset
from projects.models import Project

pytestmark = pytest.mark.django_db


def _bad_paths(owner, outsider) -> list[str]:
    root = owner.tenant.default_root
    return [
        outsider.tenant.default_root,
        root + "../" + outsider.tenant.slug + "/",
        root + "%2e%2e/" + outsider.tenant.slug + "/",
        root + "%252e%252e/x/",
        root + "a\\b/",
        "s3://otherbucket/x/",
        root + "a\x00b/",
        root + "a" * 2000 + "/",
        "/etc/",
        "file:///etc/",
        "s3://" + root.split("://", 1)[1].split("/", 1)[0] + "//etc/",
    ]


def test_storage_browse_and_folders_refuse_bad_paths(owner, outsider, store):
    for path in _bad_paths(owner, outsider):
        r = owner.client.get("/api/v1/storage/browse", {"path": path})
        assert r.status_code == 400, (path, r.content)
        r = owner.client.post("/api/v1/storage/folders", {"path": path + "new"}, format="json")
        assert r.status_code == 400, (path, r.content)


def test_dataset_and_project_paths_refuse_bad_paths(owner, outsider, store):
    root = owner.tenant.default_root
    for path in _bad_paths(owner, outsider):
        name = "d" + uuid.uuid4().hex[:6]
        r = owner.client.post("/api/v1/datasets", {"name": name, "type": "image_classification",
                                                   "input_path": path, "output_path": root + "o/"}, format="json")
        assert r.status_code == 400, (path, r.content)
        r = owner.client.post("/api/v1/datasets", {"name": name, "type": "image_classification",
                                                   "input_path": root + "i/", "output_path": path}, format="json")
        assert r.status_code == 400, (path, r.content)
        r = owner.client.post("/api/v1/projects", {"name": "p" + uuid.uuid4().hex[:6],
                                                   "type": "predictive_analytics", "training_data": path + "x.csv"},
                              format="json")
        assert r.status_code == 400, (path, r.content)
    with owner.scope():
        assert not Dataset.objects.exists() and not Project.objects.exists()

"""Roles and credentials on every kind of write."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from rest_framework.test import APIClient

from exeml.tenancy.models import ApiToken, Membership
from projects.models import Project
from tests.labeling.labelkit import make_dataset
from tests.serving.serving_helpers import TrainedBundle, make_version, running_service

pytestmark = pytest.mark.django_db


def _bundle(tmp_path: Path) -> TrainedBundle:
    (tmp_path / "bundle.json").write_text(json.dumps({"schema_version": 1, "task_type": "image_classification"}))
    (tmp_path / "model.onnx").write_bytes(b"x")
    return TrainedBundle(tmp_path, "image_classification", [], {}, [])


def _writes(owner, store, tmp_path) -> list[tuple[str, str, dict]]:
    version = make_version(owner, store, _bundle(tmp_path))
    service = running_service(owner, version)
    ds = make_dataset(owner, "image_classification")
    p, d, s = version.project_id, f"/api/v1/datasets/{ds.pk}", f"/api/v1/services/{service.pk}"
    return [
        ("post", "/api/v1/projects", {"name": "px", "type": "image_classification"}),
        ("patch", f"/api/v1/projects/{p}", {"description": "x"}),
        ("delete", f"/api/v1/projects/{p}", {}),
        ("post", "/api/v1/datasets", {"name": "dx", "type": "image_classification"}),
        ("delete", d, {}),
        ("post", f"{d}/sync", {}),
        ("post", f"{d}/samples/delete", {"ids": [str(uuid.uuid4())]}),
        ("post", f"{d}/labels", {"name": "cat"}),
        ("patch", f"{d}/labels/cat", {"name": "dog"}),
        ("delete", f"{d}/labels/cat", {}),
        ("post", f"{d}/annotations/batch", {"sample_ids": [str(uuid.uuid4())], "add": ["cat"]}),
        ("put", f"{d}/samples/{uuid.uuid4()}/annotations", {"labels": ["cat"]}),
        ("post", f"{d}/versions", {}),
        ("post", f"{d}/exports", {"format": "folders"}),
        ("post", f"/api/v1/projects/{p}/train", {}),
        ("post", f"/api/v1/projects/{p}/versions/{version.name}/stop", {}),
        ("post", f"/api/v1/projects/{p}/versions/{version.name}/deploy", {}),
        ("post", f"{s}/start", {}),
        ("post", f"{s}/stop", {}),
        ("delete", s, {}),
        ("post", "/api/v1/storage/folders", {"path": owner.tenant.default_root + "x/"}),
    ]


def test_viewer_can_write_nothing(owner, viewer, store, tmp_path):
    for method, url, body in _writes(owner, store, tmp_path):
        r = getattr(viewer.client, method)(url, body, format="json")
        assert r.status_code == 403, (method, url, r.status_code, r.content[:200])
    with owner.scope():
        assert Project.objects.count() == 1


def test_member_cannot_download_models(owner, member, viewer, outsider, store, tmp_path):
    version = make_version(owner, store, _bundle(tmp_path))
    url = f"/api/v1/models/{version.pk}/download"
    assert owner.client.get(url).status_code == 200
    assert member.client.get(url).status_code == 403
    assert viewer.client.get(url).status_code == 403
    assert outsider.client.get(url).status_code == 404


def test_revoked_token_and_removed_member_are_401(owner, member, viewer):
    ApiToken.objects.filter(user=member.user).update(revoked_at=timezone.now())
    Membership.objects.filter(user=viewer.user).delete()
    for actor in (member, viewer):
        assert actor.client.get("/api/v1/projects").status_code == 401
        r = actor.client.post("/api/v1/projects", {"name": "px", "type": "image_classification"}, format="json")
        assert r.status_code == 401
    with owner.scope():
        assert not Project.objects.exists()


def test_session_without_membership_is_refused(owner):
    user = get_user_model().objects.create_user(username="lonely" + uuid.uuid4().hex[:6], password="pw")
    client = APIClient()
    client.force_login(user)
    assert client.get("/api/v1/projects").status_code == 403
    r = client.post("/api/v1/projects", {"name": "px", "type": "image_classification"}, format="json")
    assert r.status_code == 403


def test_session_of_a_removed_member_sees_no_tenant(owner, member):
    client = APIClient()
    client.force_login(member.user)
    assert client.get("/api/v1/projects").status_code == 200
    Membership.objects.filter(user=member.user).delete()
    assert client.get("/api/v1/projects").status_code == 403


def test_inference_requires_membership_of_the_services_tenant(owner, viewer, outsider, store, tmp_path):
    service = running_service(owner, make_version(owner, store, _bundle(tmp_path)))
    r = outsider.client.post(f"/v1/infers/{service.pk}", {}, format="multipart")
    assert r.status_code == 404
    anonymous = APIClient()
    assert anonymous.post(f"/v1/infers/{service.pk}", {}, format="multipart").status_code == 401

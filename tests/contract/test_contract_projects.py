"""API.md /projects: create (both dataset sources), read fields, update, delete, errors."""

from __future__ import annotations

import uuid

import pytest

from tests.contract.shapes import assert_detail, assert_field_error, assert_page, missing_id
from tests.datasets.helpers import folder, put_files

pytestmark = pytest.mark.django_db

READ_FIELDS = {"id", "name", "description", "type", "status", "dataset", "label_column", "label_type", "versions",
               "created_at"}


def _create_body(actor, **over) -> dict:
    base = folder(actor.tenant)
    return {
        "name": "p" + uuid.uuid4().hex[:8], "description": "d", "type": "image_classification",
        "dataset": {"source": "create", "name": "ds" + uuid.uuid4().hex[:6], "input_path": base,
                    "output_path": base.rstrip("/") + "-out/", "labels": [{"name": "cat"}, {"name": "dog"}]},
        **over,
    }


def test_create_is_201_with_the_read_fields(owner):
    r = owner.client.post("/api/v1/projects", _create_body(owner), format="json")
    assert r.status_code == 201, r.content
    body = r.json()
    assert READ_FIELDS <= set(body)
    assert body["status"] == "not_started" and body["versions"] == []
    assert body["dataset"]["id"] and body["type"] == "image_classification"
    got = owner.client.get(f"/api/v1/projects/{body['id']}").json()
    assert READ_FIELDS <= set(got) and got["id"] == body["id"]


def test_create_with_a_specified_dataset_of_the_same_type(owner):
    first = owner.client.post("/api/v1/projects", _create_body(owner), format="json").json()
    body = _create_body(owner, dataset={"source": "specify", "id": first["dataset"]["id"]})
    r = owner.client.post("/api/v1/projects", body, format="json")
    assert r.status_code == 201 and r.json()["dataset"]["id"] == first["dataset"]["id"]
    wrong = _create_body(owner, type="sound_classification",
                         dataset={"source": "specify", "id": first["dataset"]["id"]})
    assert_field_error(owner.client.post("/api/v1/projects", wrong, format="json"), "dataset.id")


@pytest.mark.parametrize("name", ["", "1abc", "a" * 21, "has space", "ab+c"])
def test_bad_names_are_400_on_name(owner, name):
    assert_field_error(owner.client.post("/api/v1/projects", _create_body(owner, name=name), format="json"), "name")


def test_output_under_input_and_bad_labels_are_400(owner):
    body = _create_body(owner)
    body["dataset"]["output_path"] = body["dataset"]["input_path"] + "out/"
    r = owner.client.post("/api/v1/projects", body, format="json")
    assert r.status_code == 400 and r.json()
    body = _create_body(owner)
    body["dataset"]["labels"] = [{"name": "x" * 33}]
    r = owner.client.post("/api/v1/projects", body, format="json")
    assert r.status_code == 400 and r.json()
    # Detection and text labels need a color.
    body = _create_body(owner, type="object_detection")
    r = owner.client.post("/api/v1/projects", body, format="json")
    assert r.status_code == 400 and r.json()


def test_predictive_analytics_takes_training_data_once_per_csv(owner):
    from datasets import demo_data

    base = folder(owner.tenant)
    put_files(owner.tenant, base, [("train.csv", demo_data.tabular_csv(rows=200))])
    body = {"name": "pa" + uuid.uuid4().hex[:6], "type": "predictive_analytics", "training_data": base + "train.csv"}
    r = owner.client.post("/api/v1/projects", body, format="json")
    assert r.status_code == 201, r.content
    assert {"label_column", "label_type"} <= set(r.json())
    again = {**body, "name": "pb" + uuid.uuid4().hex[:6]}
    assert_field_error(owner.client.post("/api/v1/projects", again, format="json"), "training_data")


def test_list_is_a_page_with_status(owner):
    for _ in range(2):
        owner.client.post("/api/v1/projects", _create_body(owner), format="json")
    body = assert_page(owner.client, "/api/v1/projects", at_least=2)
    assert all(p["status"] == "not_started" for p in body["results"])


def test_patch_and_delete(owner):
    pid = owner.client.post("/api/v1/projects", _create_body(owner), format="json").json()["id"]
    r = owner.client.patch(f"/api/v1/projects/{pid}", {"description": "new"}, format="json")
    assert r.status_code == 200 and r.json()["description"] == "new"
    assert owner.client.delete(f"/api/v1/projects/{pid}").status_code == 204
    assert_detail(owner.client.get(f"/api/v1/projects/{pid}"), 404)


def test_roles_and_tenants(owner, member, viewer, outsider):
    pid = member.client.post("/api/v1/projects", _create_body(member), format="json").json()["id"]
    assert viewer.client.get(f"/api/v1/projects/{pid}").status_code == 200
    assert_detail(viewer.client.post("/api/v1/projects", _create_body(viewer), format="json"), 403)
    assert_detail(viewer.client.patch(f"/api/v1/projects/{pid}", {"description": "x"}, format="json"), 403)
    assert_detail(viewer.client.delete(f"/api/v1/projects/{pid}"), 403)
    for method in ("get", "patch", "delete"):
        assert_detail(getattr(outsider.client, method)(f"/api/v1/projects/{pid}"), 404)
    assert_detail(owner.client.get(f"/api/v1/projects/{missing_id()}"), 404)
    assert outsider.client.get("/api/v1/projects").json()["count"] == 0

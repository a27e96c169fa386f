"""Project creation rules, list/read/update/delete, quota, roles and tenancy."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from datasets import demo_data
from datasets.services import dataset_sync
from exeml.tenancy.models import Quota
from tests.datasets.helpers import folder, put_files


def _body(tenant, **over):
    base = folder(tenant)
    body = {
        "name": "p" + uuid.uuid4().hex[:6], "type": "image_classification",
        "dataset": {"source": "create", "name": "d" + uuid.uuid4().hex[:6], "input_path": base,
                    "output_path": base.rstrip("/") + "-out/", "labels": [{"name": "cat"}]},
    }
    body.update(over)
    return body


def _post(actor, body):
    return actor.client.post("/api/v1/projects", body, format="json")


def _with_dataset(tenant, **over):
    body = _body(tenant)
    body["dataset"].update(over)
    return body


@pytest.mark.django_db
def test_create_list_read_update_delete(owner):
    r = _post(owner, _body(owner.tenant, name="flowers", description="first"))
    assert r.status_code == 201, r.json()
    project = r.json()
    assert project["status"] == "not_started" and project["type"] == "image_classification"
    assert project["dataset"]["input_path"].endswith("/") and project["versions"] == []
    listed = owner.client.get("/api/v1/projects").json()
    assert listed["count"] == 1 and listed["results"][0]["status"] == "not_started"
    for _ in range(3):
        assert _post(owner, _body(owner.tenant)).status_code == 201
    with CaptureQueriesContext(connection) as ctx:
        assert owner.client.get("/api/v1/projects").json()["count"] == 4
    assert len(ctx.captured_queries) <= 6, [q["sql"] for q in ctx.captured_queries]
    assert owner.client.get("/api/v1/projects", {"search": "flow"}).json()["count"] == 1
    assert owner.client.get("/api/v1/projects", {"type": "image_classification"}).json()["count"] == 4
    assert owner.client.get("/api/v1/projects", {"search": "zzz"}).json()["count"] == 0
    assert owner.client.get("/api/v1/projects", {"type": "object_detection"}).json()["count"] == 0
    r = owner.client.patch(f"/api/v1/projects/{project['id']}", {"description": "changed"}, format="json")
    assert r.status_code == 200 and r.json()["description"] == "changed"
    r = owner.client.patch(f"/api/v1/projects/{project['id']}", {"label_column": "attr_1"}, format="json")
    assert r.status_code == 400 and "label_column" in r.json()
    assert owner.client.delete(f"/api/v1/projects/{project['id']}").status_code == 204
    assert owner.client.get(f"/api/v1/projects/{project['id']}").status_code == 404
    # The dataset (and its files) stay.
    assert owner.client.get(f"/api/v1/datasets/{project['dataset']['id']}").status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["", "1abc", "_abc", "a" * 21, "has space", "名字", "a+b"])
def test_project_name_rules(owner, name):
    r = _post(owner, _body(owner.tenant, name=name))
    assert r.status_code == 400 and "name" in r.json(), r.json()


@pytest.mark.django_db
def test_project_name_unique_in_tenant_but_not_across(owner, outsider):
    assert _post(owner, _body(owner.tenant, name="same")).status_code == 201
    r = _post(owner, _body(owner.tenant, name="same"))
    assert r.status_code == 400 and "already exists" in r.json()["name"][0]
    assert _post(outsider, _body(outsider.tenant, name="same")).status_code == 201


@pytest.mark.django_db
def test_path_rules(owner, other_tenant):
    base = folder(owner.tenant)
    cases = [
        ({"input_path": base, "output_path": base}, "dataset.output_path"),
        ({"input_path": base, "output_path": base + "sub/"}, "dataset.output_path"),
        ({"input_path": f"s3://exeml/{other_tenant.slug}/x/"}, "dataset.input_path"),
        ({"input_path": "s3://exeml/../etc/"}, "dataset.input_path"),
        ({"input_path": "http://x/y/"}, "dataset.input_path"),
        ({"output_path": "s3://elsewhere-bucket/out/"}, "dataset.output_path"),
    ]
    for over, field in cases:
        r = _post(owner, _with_dataset(owner.tenant, **over))
        assert r.status_code == 400 and field in r.json(), (over, r.json())
    # Sibling folders are fine; a folder path without its trailing slash is taken as a folder.
    r = _post(owner, _with_dataset(owner.tenant, input_path=base.rstrip("/"), output_path=base.rstrip("/") + "x/"))
    assert r.status_code == 201, r.json()
    assert r.json()["dataset"]["input_path"] == base


@pytest.mark.django_db
def test_label_rules(owner):
    bad = [
        ("image_classification", [{"name": "a" * 33}]),
        ("image_classification", [{"name": "has space"}]),
        ("image_classification", [{"name": "a/b"}]),
        ("image_classification", [{"name": "cat"}, {"name": "cat"}]),
        ("object_detection", [{"name": "cat"}]),  # color required
        ("text_classification", [{"name": "good", "color": ""}]),
        ("object_detection", [{"name": "cat", "color": "red"}]),
    ]
    for task_type, labels in bad:
        body = _with_dataset(owner.tenant, labels=labels)
        body["type"] = task_type
        r = _post(owner, body)
        assert r.status_code == 400 and "dataset.labels" in r.json(), (labels, r.json())
    body = _with_dataset(owner.tenant, labels=[{"name": "猫", "color": "#AABBCC"}, {"name": "dog-2_x"}])
    body["type"] = "sound_classification"
    assert _post(owner, body).status_code == 201


@pytest.mark.django_db
def test_specify_existing_dataset_of_the_same_type_only(owner):
    first = _post(owner, _body(owner.tenant)).json()
    body = _body(owner.tenant, dataset={"source": "specify", "id": first["dataset"]["id"]})
    r = _post(owner, body)
    assert r.status_code == 201 and r.json()["dataset"]["id"] == first["dataset"]["id"]
    body = _body(owner.tenant, type="sound_classification", dataset={"source": "specify", "id": first["dataset"]["id"]})
    r = _post(owner, body)
    assert r.status_code == 400 and "dataset.id" in r.json()
    r = _post(owner, _body(owner.tenant, dataset={"source": "specify", "id": str(uuid.uuid4())}))
    assert r.status_code == 400


@pytest.mark.django_db
def test_csv_path_rules_and_one_project_per_csv(owner):
    base = folder(owner.tenant)

    def pa(path, **over):
        return _post(owner, {"name": "t" + uuid.uuid4().hex[:6], "type": "predictive_analytics",
                             "training_data": path, **over})

    for path in [base, base + "data.txt", base + "da ta.csv", base + "数据.csv", "s3://exeml/root.csv",
                 "s3://exeml/other/x.csv", ""]:
        r = pa(path)
        assert r.status_code == 400 and "training_data" in r.json(), (path, r.json())
    r = pa(base + "data.csv")
    assert r.status_code == 201, r.json()
    assert r.json()["dataset"]["csv_path"] == base + "data.csv"
    assert r.json()["dataset"]["input_path"] == base
    r = pa(base + "data.csv")
    assert r.status_code == 400 and "another project" in r.json()["training_data"][0]
    r = pa(base + "other.csv", dataset={"output_path": base})
    assert r.status_code == 400 and "dataset.output_path" in r.json()


@pytest.mark.django_db
def test_label_column_rules_use_the_profile(owner):
    base = folder(owner.tenant)
    put_files(owner.tenant, base, [("bank.csv", demo_data.tabular_csv(rows=200))])
    project = _post(owner, {"name": "bank", "type": "predictive_analytics", "training_data": base + "bank.csv"}).json()
    url = f"/api/v1/projects/{project['id']}"
    r = owner.client.patch(url, {"label_column": "attr_8"}, format="json")
    assert r.status_code == 400 and "synchronize" in r.json()["label_column"][0]
    with owner.scope():
        from datasets.models import Dataset

        dataset_sync(dataset=Dataset.objects.get(pk=project["dataset"]["id"]))
    r = owner.client.patch(url, {"label_column": "attr_2", "label_type": "continuous"}, format="json")
    assert r.status_code == 400 and "non-numeric" in r.json()["label_type"][0]
    r = owner.client.patch(url, {"label_column": "attr_6", "label_type": "continuous"}, format="json")
    assert r.status_code == 400 and "distinct" in r.json()["label_type"][0]  # contacts: few distinct values
    r = owner.client.patch(url, {"label_column": "attr_99"}, format="json")
    assert r.status_code == 400 and "label_column" in r.json()
    r = owner.client.patch(url, {"label_column": "attr_4", "label_type": "continuous"}, format="json")
    assert r.status_code == 200 and r.json()["label_type"] == "continuous"
    detail = owner.client.get(url).json()
    assert detail["label_column"] == "attr_4" and detail["dataset_counts"]["sample_count"] == 1


@pytest.mark.django_db
def test_project_quota(owner):
    with owner.scope():
        Quota.objects.filter(tenant=owner.tenant).update(max_projects=1)
    assert _post(owner, _body(owner.tenant)).status_code == 201
    r = _post(owner, _body(owner.tenant))
    assert r.status_code == 403
    assert r.json() == {"detail": r.json()["detail"], "code": "quota_exceeded", "quota": "max_projects",
                        "limit": 1, "used": 1}


@pytest.mark.django_db
def test_viewer_reads_but_cannot_write(owner, viewer):
    project = _post(owner, _body(owner.tenant)).json()
    assert viewer.client.get("/api/v1/projects").json()["count"] == 1
    assert _post(viewer, _body(viewer.tenant)).status_code == 403
    assert viewer.client.patch(f"/api/v1/projects/{project['id']}", {"description": "x"}, format="json").status_code == 403
    assert viewer.client.delete(f"/api/v1/projects/{project['id']}").status_code == 403


@pytest.mark.django_db
def test_other_tenants_project_is_404(owner, outsider):
    project = _post(owner, _body(owner.tenant)).json()
    url = f"/api/v1/projects/{project['id']}"
    assert outsider.client.get(url).status_code == 404
    assert outsider.client.patch(url, {"description": "x"}, format="json").status_code == 404
    assert outsider.client.delete(url).status_code == 404
    assert outsider.client.get("/api/v1/projects").json()["count"] == 0
    # Nor can another tenant's dataset be specified.
    r = _post(outsider, _body(outsider.tenant, dataset={"source": "specify", "id": project["dataset"]["id"]}))
    assert r.status_code == 400


@pytest.mark.django_db
def test_status_follows_latest_version_and_delete_refused_while_training(owner):
    from datasets.models import DatasetVersion
    from exeml.tenancy.models import Flavor
    from training.models import ModelVersion

    project = _post(owner, _body(owner.tenant)).json()
    flavor = Flavor.objects.create(code="cpu-" + uuid.uuid4().hex[:6], name="CPU", purpose="train", device="cpu",
                                   queue="train.cpu")
    with owner.scope():
        dv = DatasetVersion.objects.create(dataset_id=project["dataset"]["id"], name="V001", number=1,
                                           manifest_path="s3://exeml/x.manifest")
        mv = ModelVersion.objects.create(project_id=project["id"], name="V001", number=1, dataset_version=dv,
                                         flavor=flavor, queue="train.cpu", status="running")
    url = f"/api/v1/projects/{project['id']}"
    body = owner.client.get(url).json()
    assert body["status"] == "training" and body["versions"] == [{"id": str(mv.pk), "name": "V001", "status": "running"}]
    r = owner.client.delete(url)
    assert r.status_code == 409 and r.json()["status"] == "training"
    with owner.scope():
        ModelVersion.objects.filter(pk=mv.pk).update(status="completed")
    assert owner.client.get("/api/v1/projects").json()["results"][0]["status"] == "completed"
    assert owner.client.delete(url).status_code == 204


@pytest.mark.django_db
def test_schema_renders(owner):
    r = owner.client.get("/api/schema/")
    assert r.status_code == 200
    text = r.content.decode()
    assert "/api/v1/projects" in text and "/api/v1/datasets/{id}/samples" in text and "/api/v1/storage/browse" in text

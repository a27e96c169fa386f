"""Another tenant's (or another project's) ids smuggled in bodies and query parameters."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from datasets.models import Annotation, DatasetVersion, Sample
from exeml.tenancy.models import Flavor
from exeml.tenancy.scoping import unscoped
from projects.models import Project
from serving.models import Service
from tests.labeling.labelkit import image_samples, label, make_dataset
from tests.serving.serving_helpers import TrainedBundle, make_version, running_service
from training.models import ModelVersion

pytestmark = pytest.mark.django_db


def _bundle(tmp_path: Path) -> TrainedBundle:
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "bundle.json").write_text(json.dumps({"schema_version": 1, "task_type": "image_classification"}))
    (tmp_path / "model.onnx").write_bytes(b"x")
    return TrainedBundle(tmp_path, "image_classification", [], {}, [])


def test_project_cannot_specify_another_tenants_dataset(owner, outsider):
    theirs = make_dataset(outsider, "image_classification")
    answers = []
    for ds_id in (str(theirs.pk), str(uuid.uuid4())):
        r = owner.client.post("/api/v1/projects", {"name": "p1", "type": "image_classification",
                                                   "dataset": {"source": "specify", "id": ds_id}}, format="json")
        assert r.status_code == 400
        answers.append(r.json())
    assert answers[0] == answers[1]  # no difference between foreign and unknown
    with owner.scope():
        assert not Project.objects.exists()


def test_train_refuses_foreign_dataset_version_and_incremental_base(owner, outsider, store, tmp_path):
    mine = make_version(owner, store, _bundle(tmp_path / "a"))
    other_project = make_version(owner, store, _bundle(tmp_path / "b"))
    theirs = make_version(outsider, store, _bundle(tmp_path / "c"))
    url = f"/api/v1/projects/{mine.project_id}/train"
    for dv in (theirs.dataset_version_id, other_project.dataset_version_id):
        r = owner.client.post(url, {"dataset_version": str(dv)}, format="json")
        assert r.status_code == 400 and "dataset_version" in r.json(), r.content
    for base in (str(theirs.pk), str(other_project.pk), "V001'--"):
        r = owner.client.post(url, {"incremental_from": base}, format="json")
        assert r.status_code == 400 and "incremental_from" in r.json(), r.content
    with owner.scope():
        assert ModelVersion.objects.filter(project_id=mine.project_id).count() == 1


def test_deploy_refuses_train_and_inactive_flavors(owner, store, tmp_path):
    version = make_version(owner, store, _bundle(tmp_path))
    url = f"/api/v1/projects/{version.project_id}/versions/{version.name}/deploy"
    train_code = Flavor.objects.filter(purpose="train").values_list("code", flat=True).first()
    for code in (train_code, "no-such-flavor"):
        r = owner.client.post(url, {"flavor": code}, format="json")
        assert r.status_code == 400 and "flavor" in r.json(), r.content
    Flavor.objects.filter(code="deploy-ci3-cpu").update(active=False)
    try:
        r = owner.client.post(url, {"flavor": "deploy-ci3-cpu"}, format="json")
        assert r.status_code == 400 and "flavor" in r.json(), r.content
    finally:
        Flavor.objects.filter(code="deploy-ci3-cpu").update(active=True)
    r = owner.client.post(f"/api/v1/projects/{version.project_id}/train", {"flavor": "deploy-free-cpu"},
                          format="json")
    assert r.status_code == 400 and "flavor" in r.json()
    with owner.scope():
        assert not Service.objects.exists()


def test_deploy_of_another_tenants_version_is_404(owner, outsider, store, tmp_path):
    theirs = make_version(outsider, store, _bundle(tmp_path))
    r = owner.client.post(f"/api/v1/projects/{theirs.project_id}/versions/{theirs.pk}/deploy", {}, format="json")
    assert r.status_code == 404


def test_batch_annotations_with_other_datasets_samples_write_nothing(owner, outsider, store):
    mine = make_dataset(owner, "image_classification")
    own_sample = image_samples(owner, store, mine, n=1)[0]
    theirs = make_dataset(outsider, "image_classification")
    their_samples = image_samples(outsider, store, theirs, n=2)
    other_ds = make_dataset(owner, "image_classification")
    sibling = image_samples(owner, store, other_ds, n=1)[0]
    for foreign in ([s.pk for s in their_samples], [sibling.pk]):
        ids = [str(own_sample.pk), *map(str, foreign)]
        r = owner.client.post(f"/api/v1/datasets/{mine.pk}/annotations/batch", {"sample_ids": ids, "add": ["cat"]},
                              format="json")
        assert r.status_code == 400 and "sample_ids" in r.json(), r.content
    with unscoped():
        assert not Annotation.all_tenants.exists()


def test_samples_delete_ignores_foreign_ids(owner, outsider, store):
    mine = make_dataset(owner, "image_classification")
    theirs = make_dataset(outsider, "image_classification")
    their_samples = image_samples(outsider, store, theirs, n=2)
    r = owner.client.post(f"/api/v1/datasets/{mine.pk}/samples/delete",
                          {"ids": [str(s.pk) for s in their_samples], "delete_source": True}, format="json")
    assert r.status_code == 200
    assert r.json()["deleted"] == 0
    with unscoped():
        assert Sample.all_tenants.filter(pk__in=[s.pk for s in their_samples]).count() == 2


def test_export_with_another_datasets_version_is_404(owner, outsider, store):
    mine = make_dataset(owner, "image_classification")
    label(owner, image_samples(owner, store, mine, n=1)[0], ["cat"])
    theirs = make_dataset(outsider, "image_classification")
    sibling = make_dataset(owner, "image_classification")
    with outsider.scope():
        their_version = DatasetVersion.objects.create(dataset=theirs, name="V001", number=1)
    with owner.scope():
        sibling_version = DatasetVersion.objects.create(dataset=sibling, name="V001", number=1)
    for version in (their_version, sibling_version):
        r = owner.client.post(f"/api/v1/datasets/{mine.pk}/exports", {"format": "folders", "version": str(version.pk)},
                              format="json")
        assert r.status_code == 404, r.content


def test_export_path_outside_roots_is_400(owner, outsider, store):
    mine = make_dataset(owner, "image_classification")
    label(owner, image_samples(owner, store, mine, n=1)[0], ["cat"])
    for path in (outsider.tenant.default_root, owner.tenant.default_root + "../" + outsider.tenant.slug + "/",
                 owner.tenant.default_root + "%2e%2e/x/", "s3://otherbucket/x/"):
        r = owner.client.post(f"/api/v1/datasets/{mine.pk}/exports",
                              {"format": "folders", "target": "storage", "path": path}, format="json")
        assert r.status_code == 400 and "path" in r.json(), (path, r.content)


def test_services_and_models_project_filter_foreign_is_404_like_unknown(owner, outsider, store, tmp_path):
    mine = make_version(owner, store, _bundle(tmp_path / "a"))
    running_service(owner, mine)
    theirs = make_version(outsider, store, _bundle(tmp_path / "b"))
    running_service(outsider, theirs)
    for url in ("/api/v1/services", "/api/v1/models"):
        assert owner.client.get(url, {"project": str(mine.project_id)}).json()["count"] == 1
        foreign = owner.client.get(url, {"project": str(theirs.project_id)})
        unknown = owner.client.get(url, {"project": str(uuid.uuid4())})
        assert foreign.status_code == unknown.status_code == 404
        assert foreign.json() == unknown.json()
        assert owner.client.get(url, {"project": "not-a-uuid"}).status_code == 400

"""API.md training, models, services and /v1/infers, with REFERENCE.md's deploy options and
inference shapes (a tiny real ONNX image model; no worker needed)."""

from __future__ import annotations

import json
import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.contract.shapes import (
    assert_detail,
    assert_field_error,
    assert_page,
    assert_wrong_state,
    missing_id,
)
from tests.serving.serving_helpers import (
    TrainedBundle,
    make_version,
    png_bytes,
    running_service,
    tiny_image_onnx,
)

pytestmark = pytest.mark.django_db

VERSION_FIELDS = {"name", "status", "progress", "params", "metrics", "evaluation", "started_at", "finished_at", "error"}
SERVICE_FIELDS = {"id", "status", "url", "stop_at", "flavor", "model"}


@pytest.fixture(autouse=True)
def _calls_flushed_by_the_test_thread():
    """As in tests/serving: the background flusher's own connection cannot see this test's rows."""
    from serving.metrics import call_recorder
    from serving.runtime import predictor_cache

    recorder = call_recorder()
    background, recorder.background = recorder.background, False
    recorder.discard()
    predictor_cache().clear()
    yield
    predictor_cache().clear()
    recorder.discard()
    recorder.background = background


@pytest.fixture(scope="module")
def image_bundle(tmp_path_factory) -> TrainedBundle:
    root = tmp_path_factory.mktemp("contract-image")
    tiny_image_onnx(root / "model.onnx")
    (root / "bundle.json").write_text(json.dumps({
        "schema_version": 1, "task_type": "image_classification", "labels": ["red", "green", "blue"],
        "preprocessing": {"size": 8, "mean": [0.0, 0.0, 0.0], "std": [1.0, 1.0, 1.0], "resize": "squash"},
        "postprocessing": {"multilabel": False, "top_k": 3},
    }))
    return TrainedBundle(root, "image_classification", [], {"accuracy": 1.0}, [])


def _project(actor) -> dict:
    from tests.datasets.helpers import folder

    base = folder(actor.tenant)
    body = {"name": "p" + uuid.uuid4().hex[:8], "type": "image_classification",
            "dataset": {"source": "create", "name": "d" + uuid.uuid4().hex[:6], "input_path": base,
                        "output_path": base.rstrip("/") + "-out/"}}
    r = actor.client.post("/api/v1/projects", body, format="json")
    assert r.status_code == 201, r.content
    return r.json()


def test_train_without_labels_is_400_with_the_unmet_precondition(owner, viewer, outsider):
    project = _project(owner)
    url = f"/api/v1/projects/{project['id']}/train"
    r = owner.client.post(url, {"train_ratio": 0.8, "max_minutes": 60, "preference": "balance"}, format="json")
    body = assert_detail(r, 400)
    assert body["reasons"] and body["detail"] == body["reasons"][0]
    assert_field_error(owner.client.post(url, {"train_ratio": 1.2}, format="json"), "train_ratio")
    assert_field_error(owner.client.post(url, {"max_minutes": 6001}, format="json"), "max_minutes")
    assert_field_error(owner.client.post(url, {"preference": "fastest"}, format="json"), "preference")
    assert_detail(viewer.client.post(url, {}, format="json"), 403)
    assert_detail(outsider.client.post(url, {}, format="json"), 404)
    assert_page(owner.client, f"/api/v1/projects/{project['id']}/versions")


def test_train_is_202_with_a_queued_version(owner, store):
    from tests.labeling.labelkit import image_samples, label, make_dataset

    ds = make_dataset(owner, "image_classification")
    for i, sample in enumerate(image_samples(owner, store, ds, n=10)):
        label(owner, sample, ["a" if i % 2 else "b"])
    from projects.models import Project

    with owner.scope():
        project = Project.objects.create(name="p" + uuid.uuid4().hex[:6], task_type="image_classification", dataset=ds)
    url = f"/api/v1/projects/{project.pk}/train"
    r = owner.client.post(url, {"train_ratio": 0.8, "max_minutes": 60, "preference": "balance"}, format="json")
    assert r.status_code == 202, r.content
    assert VERSION_FIELDS <= set(r.json()) and r.json()["name"] == "V001" and r.json()["status"] == "queued"
    stopped = owner.client.post(f"/api/v1/projects/{project.pk}/versions/V001/stop")
    assert stopped.status_code == 200 and stopped.json()["status"] == "stopped"


def test_version_read_stop_logs(owner, outsider, store, image_bundle):
    version = make_version(owner, store, image_bundle)
    base = f"/api/v1/projects/{version.project_id}/versions"
    page = assert_page(owner.client, base, at_least=1)
    assert page["results"][0]["name"] == "V001"
    for ref in ("V001", str(version.pk)):
        r = owner.client.get(f"{base}/{ref}")
        assert r.status_code == 200 and VERSION_FIELDS <= set(r.json()) and r.json()["status"] == "completed"
    assert_wrong_state(owner.client.post(f"{base}/V001/stop"))
    assert isinstance(owner.client.get(f"{base}/V001/logs").json()["lines"], list)
    assert_detail(owner.client.get(f"{base}/V009"), 404)
    assert_detail(outsider.client.get(f"{base}/V001"), 404)
    project = owner.client.get(f"/api/v1/projects/{version.project_id}").json()
    assert project["status"] == "completed" and project["versions"][0]["name"] == "V001"


def test_models_list_and_download_for_owner_only(owner, member, outsider, store, image_bundle):
    version = make_version(owner, store, image_bundle)
    models = assert_page(owner.client, "/api/v1/models", at_least=1)["results"]
    assert f"{version.project.name}-V001" in {m["name"] for m in models}
    url = f"/api/v1/models/{version.pk}/download"
    assert_detail(member.client.get(url), 403)
    assert_detail(outsider.client.get(url), 404)
    r = owner.client.get(url)
    assert r.status_code == 200 and r["Content-Type"] == "application/zip"


@pytest.mark.parametrize("hours", [1, 2, 4, 6, 3, 24])
def test_deploy_202_with_the_auto_stop_options(owner, store, image_bundle, hours):
    version = make_version(owner, store, image_bundle)
    url = f"/api/v1/projects/{version.project_id}/versions/V001/deploy"
    r = owner.client.post(url, {"auto_stop": {"enabled": True, "hours": hours}}, format="json")
    assert r.status_code == 202, r.content
    body = r.json()
    assert SERVICE_FIELDS <= set(body) and body["status"] == "deploying"
    assert body["auto_stop"] == {"enabled": True, "hours": float(hours), "idle_minutes": None, "idle_stop_at": None}
    assert body["stop_at"]
    assert body["model"]["name"] == f"{version.project.name}-V001"
    assert body["url"].endswith(f"/v1/infers/{body['id']}")


@pytest.mark.parametrize("auto_stop", [{"enabled": True, "hours": 0.5}, {"enabled": True, "hours": 25},
                                       {"enabled": "yes"}, "1h"])
def test_deploy_refuses_other_auto_stop_values(owner, store, image_bundle, auto_stop):
    version = make_version(owner, store, image_bundle)
    url = f"/api/v1/projects/{version.project_id}/versions/V001/deploy"
    assert_field_error(owner.client.post(url, {"auto_stop": auto_stop}, format="json"), "auto_stop")


def test_deploy_defaults_and_wrong_state(owner, viewer, outsider, store, image_bundle):
    version = make_version(owner, store, image_bundle)
    url = f"/api/v1/projects/{version.project_id}/versions/V001/deploy"
    assert_detail(viewer.client.post(url, {}, format="json"), 403)
    assert_detail(outsider.client.post(url, {}, format="json"), 404)
    r = owner.client.post(url, {}, format="json")
    assert r.status_code == 202
    assert r.json()["auto_stop"] == {"enabled": True, "hours": 1.0, "idle_minutes": None, "idle_stop_at": None}
    assert_field_error(owner.client.post(url, {"flavor": "nope"}, format="json"), "flavor")
    failed = make_version(owner, store, image_bundle, status="failed")
    r = owner.client.post(f"/api/v1/projects/{failed.project_id}/versions/V001/deploy", {}, format="json")
    assert_wrong_state(r)


def test_service_lifecycle_and_inference_shapes(owner, viewer, outsider, store, image_bundle):
    service = running_service(owner, make_version(owner, store, image_bundle))
    base = f"/api/v1/services/{service.pk}"
    assert_page(owner.client, "/api/v1/services", at_least=1)
    r = owner.client.get(base)
    assert r.status_code == 200 and SERVICE_FIELDS <= set(r.json()) and r.json()["status"] == "running"
    assert_detail(outsider.client.get(base), 404)
    assert_detail(viewer.client.post(f"{base}/stop"), 403)

    infer = f"/v1/infers/{service.pk}"
    image = {"images": SimpleUploadedFile("r.png", png_bytes((255, 0, 0)))}
    r = viewer.client.post(infer, image, format="multipart")
    assert r.status_code == 200, r.content
    body = r.json()
    assert set(body) == {"predicted_label", "scores"}
    assert body["predicted_label"] == body["scores"][0][0]
    assert all(isinstance(label, str) and isinstance(score, str) for label, score in body["scores"])
    assert len(body["scores"]) <= 5
    assert_detail(outsider.client.post(f"/v1/infers/{service.pk}", image, format="multipart"), 404)

    metrics = owner.client.get(f"{base}/metrics").json()
    assert {"calls", "errors", "latency_ms"} <= set(metrics) and metrics["calls"] >= 1
    assert {"p50", "p95", "p99"} <= set(metrics["latency_ms"])

    r = owner.client.post(f"{base}/stop")
    assert r.status_code == 200 and r.json()["status"] in ("stopping", "stopped")
    stopped = owner.client.post(infer, {"images": SimpleUploadedFile("r.png", png_bytes())}, format="multipart")
    assert_wrong_state(stopped)
    assert_field_error(owner.client.post(f"{base}/start", {"auto_stop": {"hours": 48}}, format="json"), "auto_stop")
    r = owner.client.post(f"{base}/start", {"auto_stop": {"enabled": True, "hours": 2}}, format="json")
    assert r.status_code == 202 and r.json()["status"] == "deploying"
    assert_wrong_state(owner.client.post(f"{base}/start", {}, format="json"))
    assert owner.client.delete(base).status_code == 204
    assert_detail(owner.client.get(base), 404)
    assert_detail(owner.client.get(f"/api/v1/services/{missing_id()}"), 404)

"""Every project type through the public API alone, with a real worker and the S3 endpoint:
pre-labelled files in storage → project → sync → train → deploy → HTTP predictions that
equal the evaluation predictions recorded at training."""

from __future__ import annotations

import uuid

import numpy as np
import pytest
from django.conf import settings
from django.test import override_settings

from datasets import demo_data
from tests.conftest import wait_for
from training.engine.detection_metrics import detection_metrics, response_detections

pytestmark = [pytest.mark.django_db(transaction=True)]


def _put_files(store, tenant, folder: str, files: list[tuple[str, bytes]]) -> str:
    root = f"{tenant.slug}/{folder}/"
    uri = f"s3://{settings.EXEML_BUCKET}/{root}"
    for key, data in files:
        if key.endswith(".manifest"):
            data = data.replace(demo_data.ROOT.encode(), uri.rstrip("/").encode())
        store.put(settings.EXEML_BUCKET, root + key, data)
    return uri


def _wait_job(client, job_id: str, timeout: float = 120) -> dict:
    def done():
        job = client.get(f"/api/v1/jobs/{job_id}").json()
        return job if job["status"] in ("succeeded", "failed") else None

    job = wait_for(done, timeout=timeout, message=f"job {job_id}")
    assert job["status"] == "succeeded", job
    return job


def _create_project(owner, store, task_type: str, files, labels: list[dict] | None = None, **extra) -> dict:
    folder = f"{task_type[:5]}-{uuid.uuid4().hex[:6]}"
    input_uri = _put_files(store, owner.tenant, folder + "/in", files)
    name = f"p{uuid.uuid4().hex[:8]}"
    body: dict = {"name": name, "type": task_type, "description": "end to end"}
    if task_type == "predictive_analytics":
        body["training_data"] = input_uri + "data.csv"
    else:
        body["dataset"] = {
            "source": "create",
            "name": f"d{uuid.uuid4().hex[:8]}",
            "input_path": input_uri,
            "output_path": f"s3://{settings.EXEML_BUCKET}/{owner.tenant.slug}/{folder}/out/",
            "labels": labels or [],
        }
    r = owner.client.post("/api/v1/projects", body, format="json")
    assert r.status_code == 201, r.content
    project = r.json()
    dataset = owner.client.get(f"/api/v1/datasets/{project['dataset']['id']}").json()
    job_id = dataset["last_sync_job"]["id"] if isinstance(dataset["last_sync_job"], dict) else dataset["last_sync_job"]
    if job_id is None:
        job_id = owner.client.post(f"/api/v1/datasets/{project['dataset']['id']}/sync").json()["id"]
    _wait_job(owner.client, job_id)
    return project


def _train_and_deploy(
    owner, project: dict, *, max_minutes: float, preference: str = "performance_first", **body_extra
) -> tuple:
    with override_settings(EXEML_MIN_TRAIN_MINUTES=0.05):
        r = owner.client.post(
            f"/api/v1/projects/{project['id']}/train",
            # The served model must be the evaluated one: the test compares their answers.
            {"max_minutes": max_minutes, "preference": preference, "train_ratio": 0.7, "refit_on_all": False,
             **body_extra},
            format="json",
        )
    assert r.status_code == 202, r.content
    version = r.json()

    def finished():
        v = owner.client.get(f"/api/v1/projects/{project['id']}/versions/{version['id']}").json()
        return v if v["status"] in ("completed", "failed", "stopped") else None

    version = wait_for(finished, timeout=600, interval=1, message="training")
    assert version["status"] == "completed", version
    version = owner.client.get(
        f"/api/v1/projects/{project['id']}/versions/{version['id']}?include=eval_predictions"
    ).json()
    assert version["metrics"] and version["evaluation"]
    assert version["eval_predictions"]

    r = owner.client.post(
        f"/api/v1/projects/{project['id']}/versions/{version['id']}/deploy",
        {"auto_stop": {"enabled": True, "hours": 1}},
        format="json",
    )
    assert r.status_code == 202, r.content
    service_id = r.json()["id"]

    def running():
        s = owner.client.get(f"/api/v1/services/{service_id}").json()
        return s if s["status"] in ("running", "failed") else None

    service = wait_for(running, timeout=180, interval=0.5, message="deploy")
    assert service["status"] == "running", service
    return version, service


def _sample_bytes(owner, project: dict, sample_id: str) -> tuple[dict, bytes]:
    dataset_id = project["dataset"]["id"]
    sample = owner.client.get(f"/api/v1/datasets/{dataset_id}/samples/{sample_id}").json()
    r = owner.client.get(f"/api/v1/datasets/{dataset_id}/samples/{sample_id}/content")
    if r.status_code in (301, 302):
        import requests

        return sample, requests.get(r["Location"], timeout=30).content
    assert r.status_code == 200
    return sample, b"".join(r.streaming_content) if hasattr(r, "streaming_content") else r.content


def _infer_file(owner, service_id: str, field: str, name: str, data: bytes) -> dict:
    from django.core.files.uploadedfile import SimpleUploadedFile

    r = owner.client.post(f"/v1/infers/{service_id}", {field: SimpleUploadedFile(name, data)}, format="multipart")
    assert r.status_code == 200, r.content
    return r.json()


def test_image_classification_end_to_end(celery_worker, owner, store):
    files = demo_data.image_classification_files(per_class=10, size=64, classes=("circle", "square"))
    project = _create_project(owner, store, "image_classification", files)
    # The served model is then the evaluated one, so the service answers the eval predictions.
    version, service = _train_and_deploy(owner, project, max_minutes=0.6, refit_on_all=False)
    assert {"accuracy", "per_class", "confusion_matrix"} <= set(version["evaluation"])
    for pred in version["eval_predictions"][:3]:
        sample, data = _sample_bytes(owner, project, pred["sample_id"])
        served = _infer_file(owner, service["id"], "images", sample["name"], data)
        assert served["predicted_label"] == pred["predicted"] or [served["predicted_label"]] == pred["predicted"]
        assert [s[0] for s in served["scores"]] == [s[0] for s in pred["scores"]]


def test_object_detection_end_to_end(celery_worker, owner, store):
    files = demo_data.object_detection_files(n=14, size=96, classes=("circle", "square"))
    labels = [{"name": "circle", "color": "#ff0000"}, {"name": "square", "color": "#00ff00"}]
    project = _create_project(owner, store, "object_detection", files, labels)
    version, service = _train_and_deploy(owner, project, max_minutes=0.8)
    assert {"map50", "map50_95", "precision", "recall", "f1"} <= set(version["metrics"])
    ev = version["evaluation"]
    assert service["confidence_threshold"] is None and ev["conf_threshold"] == 0.25
    names = ev["labels"]
    preds = version["eval_predictions"]
    images = [_sample_bytes(owner, project, pred["sample_id"]) for pred in preds]
    truths = [
        [(names.index(t["label"]), np.array([t["box"][1], t["box"][0], t["box"][3], t["box"][2]], float)) for t in p["true"]]
        for p in preds
    ]

    def served_metrics() -> dict:
        answers = [_infer_file(owner, service["id"], "images", sample["name"], data) for sample, data in images]
        parsed = [response_detections(a, names) for a in answers]
        return detection_metrics(truths, parsed, names, served=parsed)[0], answers

    # The version's metrics are those of the deployed service's own answers on the EVAL images.
    metrics, answers = served_metrics()
    assert answers == [p["predicted"] for p in preds]
    for key in ("precision", "recall", "f1", "map50", "map50_95"):
        assert metrics[key] == pytest.approx(version["metrics"][key], abs=1e-9), key

    # The threshold is a service setting: restarted at 0.001 (all the model proposes, so never
    # vacuous), the service answers the curve's point.
    sid = service["id"]
    assert owner.client.post(f"/api/v1/services/{sid}/stop").status_code == 200
    for wrong in (1.5, -0.1, "high", True):
        r = owner.client.post(f"/api/v1/services/{sid}/start", {"confidence_threshold": wrong}, format="json")
        assert r.status_code == 400 and "confidence_threshold" in r.json(), r.content
    r = owner.client.post(f"/api/v1/services/{sid}/start", {"confidence_threshold": 0.001}, format="json")
    assert r.status_code == 202 and r.json()["confidence_threshold"] == 0.001, r.content
    wait_for(lambda: owner.client.get(f"/api/v1/services/{sid}").json()["status"] == "running", timeout=180,
             interval=0.5, message="restart")
    metrics, answers = served_metrics()
    assert any(a["detection_scores"] for a in answers)
    assert all(score >= 0.001 for a in answers for score in a["detection_scores"])
    point = next(row for row in ev["threshold_curve"] if row["threshold"] == 0.001)
    for key in ("precision", "recall", "f1", "map50"):
        assert metrics[key] == pytest.approx(point[key], abs=1e-9), key


def test_predictive_analytics_end_to_end(celery_worker, owner, store):
    csv = demo_data.tabular_csv(rows=300, kind="binary")
    project = _create_project(owner, store, "predictive_analytics", [("data.csv", csv)])
    columns = [c["name"] for c in owner.client.get(f"/api/v1/datasets/{project['dataset']['id']}/preview").json()["columns"]]
    r = owner.client.patch(
        f"/api/v1/projects/{project['id']}", {"label_column": columns[-1], "label_type": "discrete"}, format="json"
    )
    assert r.status_code == 200, r.content
    version, service = _train_and_deploy(owner, project, max_minutes=0.3)
    assert {"tp", "fp", "fn", "tn", "threshold_curve", "roc_auc"} <= set(version["evaluation"])
    rows = [line.split(",") for line in csv.decode().splitlines()]
    preds = version["eval_predictions"][:5]
    records = []
    for pred in preds:
        row = rows[int(pred["sample_id"].split("-")[1])]
        records.append({f"attr_{i + 1}": value for i, value in enumerate(row) if f"attr_{i + 1}" != columns[-1]})
    r = owner.client.post(
        f"/v1/infers/{service['id']}", {"data": {"count": len(records), "req_data": records}}, format="json"
    )
    assert r.status_code == 200, r.content
    served = r.json()["resp_data"]
    assert [s["predictioncol"] for s in served] == [p["predicted"] for p in preds]


def test_sound_classification_end_to_end(celery_worker, owner, store):
    files = demo_data.sound_files(per_class=8, classes=("tone", "noise"))
    project = _create_project(owner, store, "sound_classification", files)
    version, service = _train_and_deploy(owner, project, max_minutes=0.3)
    for pred in version["eval_predictions"][:3]:
        sample, data = _sample_bytes(owner, project, pred["sample_id"])
        served = _infer_file(owner, service["id"], "files", sample["name"], data)
        assert served["predicted_label"] == pred["predicted"]
        assert served["score"] == pytest.approx(pred["score"], abs=1e-5)


def test_text_classification_end_to_end(celery_worker, owner, store):
    files = demo_data.text_files(lang="zh", per_class=30)
    labels = [{"name": "positive", "color": "#00aa00"}, {"name": "negative", "color": "#aa0000"}]
    project = _create_project(owner, store, "text_classification", files, labels)
    version, service = _train_and_deploy(owner, project, max_minutes=0.3)
    for pred in version["eval_predictions"][:5]:
        sample = owner.client.get(f"/api/v1/datasets/{project['dataset']['id']}/samples/{pred['sample_id']}").json()
        r = owner.client.post(f"/v1/infers/{service['id']}", {"text": sample["text"]}, format="json")
        assert r.status_code == 200, r.content
        assert r.json()["predicted_label"] == pred["predicted"]
        assert r.json()["score"] == pytest.approx(pred["score"], abs=1e-5)

"""Training through the API on a real Celery worker, with the real trainers on tiny data."""

from __future__ import annotations

import json
import time
import uuid

import pytest
from django.conf import settings
from django.test import override_settings

from exeml.storage import parse_storage_path
from exeml.tenancy.models import UsageRecord
from tests.conftest import WorkerProcess, wait_for
from tests.training.helpers_training import (
    make_flavor,
    sound_project,
    tabular_project,
    text_project,
    train,
    version_get,
    wait_status,
)
from training import services
from training.models import ModelVersion

pytestmark = pytest.mark.django_db(transaction=True)

FAST = {"preference": "performance_first"}


def _artifact_files(store, version: dict) -> dict[str, int]:
    folder = parse_storage_path(version["artifact_path"])
    return {o.key[len(folder.key):]: o.size for o in store.iter_objects(folder.bucket, folder.key)}


def _assert_trained(owner, store, project, version: dict) -> dict:
    assert version["status"] == "completed", version
    assert version["progress"] == 1.0 and version["error"] == ""
    assert version["started_at"] and version["finished_at"]
    files = _artifact_files(store, version)
    assert {"model.onnx", "bundle.json", "train.log"} <= set(files), files
    assert version["artifact_path"].endswith(f"/out/models/{project.name}/{version['name']}/")
    folder = parse_storage_path(version["artifact_path"])
    bundle = json.loads(store.read_bytes(folder.bucket, folder.key + "bundle.json"))
    assert bundle["task_type"] == project.task_type
    detail = version_get(owner, project, version["id"], include="eval_predictions")
    assert len(detail["eval_predictions"]) > 0
    logs = owner.client.get(f"/api/v1/projects/{project.pk}/versions/{version['id']}/logs").json()["lines"]
    print("\n".join(logs))
    assert any("uploaded the model" in line for line in logs), logs
    with owner.scope():
        usage = UsageRecord.objects.get(resource="training", resource_id=version["id"])
    assert usage.minutes > 0 and usage.flavor.code == version["flavor"]
    assert not (settings.EXEML_WORK_DIR / version["id"]).exists()  # the worker cleaned up
    return detail


def test_predictive_analytics_end_to_end(celery_worker, owner, store):
    project = tabular_project(owner, store)
    started = time.monotonic()
    r = train(owner, project, max_minutes=6, **FAST)
    assert r.status_code == 202, r.content
    version = wait_status(owner, project, "V001", {"completed", "failed", "stopped"}, timeout=120)
    print(f"predictive analytics trained end to end in {time.monotonic() - started:.1f} s")
    detail = _assert_trained(owner, store, project, version)
    assert {"accuracy", "precision", "recall", "f1"} <= set(detail["metrics"])
    assert {"tp", "fp", "fn", "tn", "threshold"} <= set(detail["evaluation"]), detail["evaluation"].keys()
    assert detail["stopped_by_deadline"] is False
    assert detail["dataset_version"]["name"] == "V001"


def test_text_end_to_end(celery_worker, owner, store):
    project = text_project(owner, store)
    started = time.monotonic()
    assert train(owner, project, max_minutes=6, **FAST).status_code == 202
    version = wait_status(owner, project, "V001", {"completed", "failed", "stopped"}, timeout=120)
    print(f"text trained end to end in {time.monotonic() - started:.1f} s")
    detail = _assert_trained(owner, store, project, version)
    assert {"accuracy", "precision", "recall", "f1"} <= set(detail["metrics"])
    assert {"per_class", "confusion_matrix", "accuracy"} <= set(detail["evaluation"])


def test_sound_end_to_end(celery_worker, owner, store):
    project = sound_project(owner, store)
    started = time.monotonic()
    assert train(owner, project, max_minutes=6, **FAST).status_code == 202
    version = wait_status(owner, project, "V001", {"completed", "failed", "stopped"}, timeout=150)
    print(f"sound trained end to end in {time.monotonic() - started:.1f} s")
    detail = _assert_trained(owner, store, project, version)
    assert {"accuracy", "precision", "recall", "f1"} <= set(detail["metrics"])
    assert {"per_class", "confusion_matrix"} <= set(detail["evaluation"])

    # Incremental training starts from V001's uploaded bundle.
    r = train(owner, project, max_minutes=6, incremental_from="V001", dataset_version=detail["dataset_version"]["id"])
    assert r.status_code == 202, r.content
    v2 = wait_status(owner, project, "V002", {"completed", "failed", "stopped"}, timeout=150)
    assert v2["status"] == "completed", v2
    assert v2["incremental_from"] == {"id": version["id"], "name": "V001"}
    logs = owner.client.get(f"/api/v1/projects/{project.pk}/versions/V002/logs").json()["lines"]
    assert any("incremental training from V001" in line for line in logs)


@override_settings(EXEML_MIN_TRAIN_MINUTES=0.01)
def test_time_limit_keeps_the_best_model_so_far(celery_worker, owner, store):
    project = tabular_project(owner, store, rows=1500)
    assert train(owner, project, max_minutes=0.05, preference="accuracy_first").status_code == 202
    version = wait_status(owner, project, "V001", {"completed", "failed", "stopped"}, timeout=90)
    assert version["status"] == "completed", version
    assert version["stopped_by_deadline"] is True
    assert {"model.onnx", "bundle.json"} <= set(_artifact_files(store, version))


def test_wrong_label_type_fails_the_version_with_the_reason(celery_worker, owner, store):
    from datasets.versioning import dataset_version_publish

    project = tabular_project(owner, store)
    with owner.scope():
        frozen = dataset_version_publish(
            dataset=project.dataset, label_column="attr_2", label_type="discrete", user=owner.user
        )
        # A version that says continuous for a text column (e.g. written by an older release).
        frozen.params = {**frozen.params, "label_type": "continuous"}
        frozen.save(update_fields=["params"])
    assert train(owner, project, dataset_version=str(frozen.pk), max_minutes=6).status_code == 202
    version = wait_status(owner, project, "V001", {"completed", "failed", "stopped"}, timeout=90)
    assert version["status"] == "failed"
    assert "continuous" in version["error"] and "non-numeric" in version["error"], version["error"]
    assert version["artifact_path"] == ""


def test_stop_a_running_version(celery_worker, owner, store):
    project = tabular_project(owner, store, rows=1500)
    assert train(owner, project, max_minutes=6, preference="accuracy_first").status_code == 202
    wait_for(lambda: version_get(owner, project, "V001")["phase"] not in ("", "starting", "downloading data"),
             timeout=60, message="training to start")
    r = owner.client.post(f"/api/v1/projects/{project.pk}/versions/V001/stop")
    assert r.status_code == 200 and r.json()["stop_requested"] is True
    asked = time.monotonic()
    version = wait_status(owner, project, "V001", {"completed", "failed", "stopped"}, timeout=30)
    print(f"running version stopped {time.monotonic() - asked:.1f} s after the request")
    assert version["status"] == "stopped", version
    assert owner.client.post(f"/api/v1/projects/{project.pk}/versions/V001/stop").status_code == 409


def test_free_queue_runs_one_job_at_a_time(celery_worker, owner, store):
    from exeml.tenancy.models import Quota

    Quota.objects.filter(tenant=owner.tenant).update(max_running_trainings_per_project=2)
    project = text_project(owner, store)
    first = train(owner, project, flavor="train-free-gpu", max_minutes=6, preference="accuracy_first").json()
    second = train(owner, project, flavor="train-free-gpu", max_minutes=6).json()
    assert first["queue_position"] == 1
    assert second["queue_position"] in (1, 2)  # 1 once the free worker has taken the first
    wait_status(owner, project, first["id"], {"running"}, timeout=60)
    time.sleep(2)  # give a second slot, if there were one, time to take the next job
    queued = version_get(owner, project, second["id"])
    assert queued["status"] == "queued" and queued["queue_position"] == 1
    for v in (second, first):
        assert owner.client.post(f"/api/v1/projects/{project.pk}/versions/{v['id']}/stop").status_code == 200
    assert wait_status(owner, project, first["id"], {"completed", "failed", "stopped"}, timeout=30)["status"] in (
        "stopped", "completed")
    assert version_get(owner, project, second["id"])["status"] == "stopped"


def test_killed_worker_is_reaped(celery_worker, owner, store):
    queue = f"train.test-{uuid.uuid4().hex[:6]}"
    flavor = make_flavor(queue=queue)
    worker = WorkerProcess(queue, 1, "doomed")
    worker.start()
    try:
        project = tabular_project(owner, store, rows=1500)
        r = train(owner, project, flavor=flavor.code, max_minutes=6, preference="accuracy_first")
        assert r.status_code == 202
        wait_for(lambda: version_get(owner, project, "V001")["phase"] not in ("", "starting", "downloading data"),
                 timeout=60, message="training to start")
    finally:
        worker.kill_children()
    time.sleep(1.5)
    with override_settings(EXEML_HEARTBEAT_TIMEOUT_SECONDS=1):
        reaped = services.reap_stale_versions()
    with owner.scope():
        version = ModelVersion.objects.get(project=project, name="V001")
    assert version.pk in reaped
    assert version.status == "failed"
    assert version.error.startswith("the training worker stopped responding (no heartbeat for ")


def test_missing_sample_file_fails_with_the_reason(celery_worker, owner, store):
    from datasets.versioning import dataset_version_publish

    project = sound_project(owner, store)
    with owner.scope():
        frozen = dataset_version_publish(dataset=project.dataset, user=owner.user)
        gone = parse_storage_path(frozen.items.first().source)
    store.delete(gone.bucket, gone.key)
    assert train(owner, project, dataset_version=str(frozen.pk), max_minutes=6).status_code == 202
    version = wait_status(owner, project, "V001", {"completed", "failed", "stopped"}, timeout=90)
    assert version["status"] == "failed"
    assert version["error"].startswith(f"s3://{gone.bucket}/{gone.key} of dataset version {frozen.name} is missing")


def test_version_numbers_are_unique_under_concurrent_requests(owner, store):
    import threading

    from django.db import connection

    from exeml.tenancy.models import Quota
    from exeml.tenancy.scoping import tenant_scope
    from projects.models import Project

    Quota.objects.filter(tenant=owner.tenant).update(max_running_trainings_per_project=10)
    project = text_project(owner, store)
    flavor = make_flavor(queue="train.nobody")
    with owner.scope():
        from datasets.versioning import dataset_version_publish

        frozen = dataset_version_publish(dataset=project.dataset, user=owner.user)
    names, errors = [], []

    def create():
        try:
            with tenant_scope(owner.tenant.pk):
                fresh = Project.objects.get(pk=project.pk)
                v = services.version_create(project=fresh, dataset_version_id=frozen.pk, flavor=flavor.code)
                names.append(v.name)
        except Exception as exc:  # collected and asserted below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=create) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sorted(names) == ["V001", "V002", "V003", "V004"]


def test_unexpected_errors_fail_as_internal_with_the_traceback_in_the_log(celery_worker, owner, store):
    from datasets.versioning import dataset_version_publish

    project = sound_project(owner, store)
    with owner.scope():
        frozen = dataset_version_publish(dataset=project.dataset, user=owner.user)
        # A corrupt output path (the API never lets one in) breaks the upload after training.
        project.dataset.output_path = "s3://exeml/a//b/"
        project.dataset.save(update_fields=["output_path"])
    assert train(owner, project, dataset_version=str(frozen.pk), max_minutes=6, **FAST).status_code == 202
    version = wait_status(owner, project, "V001", {"completed", "failed", "stopped"}, timeout=240)
    assert version["status"] == "failed"
    assert version["error"].startswith("internal error: StoragePathError: "), version["error"]
    logs = owner.client.get(f"/api/v1/projects/{project.pk}/versions/V001/logs").json()["lines"]
    assert any(line.startswith("Traceback") for line in logs)

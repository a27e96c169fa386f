"""Nothing stays queued or running after its message, its worker or its storage is gone."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.conf import settings
from django.test import override_settings
from django.utils import timezone

from datasets.models import Dataset
from exeml.jobs.models import Job
from exeml.jobs.services import job_create, reap_jobs
from exeml.task_types import TaskType
from tests.conftest import WorkerProcess, wait_for
from tests.datasets.helpers import create_project, wait_job
from tests.labeling.labelkit import image_samples, label, make_dataset
from tests.training.helpers_training import make_flavor, tabular_project, train, version_get, wait_status
from training import services
from training.models import ModelVersion
from training.tasks import run_version

WAIT = timedelta(seconds=2 * settings.CELERY_BEAT_INTERVAL_SECONDS)


@pytest.mark.django_db(transaction=True)
def test_a_queued_version_whose_message_was_lost_is_sent_again_and_completes(celery_worker, owner, store,
                                                                              monkeypatch):
    project = tabular_project(owner, store)
    with monkeypatch.context() as m:
        m.setattr(run_version, "apply_async", lambda *a, **k: None)  # the broker loses the message
        assert train(owner, project, max_minutes=6, preference="performance_first").status_code == 202
    assert version_get(owner, project, "V001")["status"] == "queued"
    with owner.scope():
        created = ModelVersion.objects.get(project=project, name="V001").created_at
    assert services.reap_lost_queued_versions(now=created + WAIT / 2) == []  # too early to tell
    assert services.reap_lost_queued_versions(now=created + WAIT + timedelta(seconds=1)) == []  # sent again
    version = wait_status(owner, project, "V001", {"completed", "failed", "stopped"}, timeout=180)
    assert version["status"] == "completed", version


@pytest.mark.django_db
def test_a_queued_version_no_worker_takes_ends_failed_with_the_reason(owner, store):
    flavor = make_flavor(queue=f"train.nowhere-{uuid.uuid4().hex[:6]}")
    project = tabular_project(owner, store)
    assert train(owner, project, flavor=flavor.code, max_minutes=6).status_code == 202
    with owner.scope():
        version = ModelVersion.objects.get(project=project, name="V001")
    first = version.created_at + WAIT + timedelta(seconds=1)
    assert services.reap_lost_queued_versions(now=first) == []
    with owner.scope():
        version.refresh_from_db()
    assert version.status == "queued" and "sent again" in version.log_tail[-1]
    patience = max(WAIT, timedelta(seconds=5 * settings.EXEML_HEARTBEAT_TIMEOUT_SECONDS))
    assert services.reap_lost_queued_versions(now=first + patience / 2) == []
    assert services.reap_lost_queued_versions(now=first + patience + timedelta(seconds=1)) == [version.pk]
    with owner.scope():
        version.refresh_from_db()
    assert version.status == "failed"
    assert version.error.startswith(f"no worker took the training from queue {flavor.queue} within"), version.error


@pytest.mark.django_db(transaction=True)
def test_an_export_whose_storage_fails_ends_failed(celery_worker, owner, store):
    ds = make_dataset(owner, TaskType.IMAGE_CLASSIFICATION)
    for i, sample in enumerate(image_samples(owner, store, ds, n=4)):
        label(owner, sample, ["a" if i % 2 else "b"])
    # The tenant's own endpoint stops answering: every write is a transient error, retried, then given up.
    type(owner.tenant).objects.filter(pk=owner.tenant.pk).update(s3_endpoint_url="http://127.0.0.1:9")
    r = owner.client.post(f"/api/v1/datasets/{ds.pk}/exports", {"format": "folders"}, format="json")
    assert r.status_code == 202, r.content
    job = wait_job(owner, r.json()["id"], timeout=120)
    assert job["status"] == "failed", job
    assert job["detail"] == "the export failed: the object storage could not be reached; try again later", job
    assert "127.0.0.1" not in str(job)


@pytest.mark.django_db(transaction=True)
def test_a_sync_whose_worker_is_killed_ends_failed(celery_worker, owner):
    from datasets.tasks import dataset_sync_task

    lines = b"".join(b"line %d of a long file\n" % i for i in range(100_000))
    project, _ = create_project(owner, "text_classification", files=[("a.txt", b"one\n")])
    ds_id = project["dataset"]["id"]
    wait_job(owner, owner.client.get(f"/api/v1/datasets/{ds_id}").json()["last_sync_job"]["id"])
    from tests.datasets.helpers import put_files

    with owner.scope():
        dataset = Dataset.objects.get(pk=ds_id)
        put_files(owner.tenant, dataset.input_path, [(f"big{i}.txt", lines) for i in range(3)])
        job = job_create(kind="dataset_sync", target_type="dataset", target_id=dataset.pk)
    queue = f"default-test-{uuid.uuid4().hex[:6]}"
    worker = WorkerProcess(queue, 1, "doomed-sync")
    worker.start()
    try:
        dataset_sync_task.apply_async(args=[str(job.pk), str(owner.tenant.pk)], queue=queue)

        def running():
            with owner.scope():
                return Job.objects.get(pk=job.pk).status == "running"

        wait_for(running, timeout=60, message="sync to start")
    finally:
        worker.kill_children()
    # Beat runs the reaper every interval; past the heartbeat timeout the job is failed.
    with owner.scope():
        assert Job.objects.get(pk=job.pk).status == "running"
    with override_settings(EXEML_HEARTBEAT_TIMEOUT_SECONDS=1):
        reaped = reap_jobs(now=timezone.now() + timedelta(seconds=2))
    assert job.pk in reaped
    body = owner.client.get(f"/api/v1/jobs/{job.pk}").json()
    assert body["status"] == "failed" and body["detail"].startswith("the worker stopped responding"), body


@pytest.mark.django_db
def test_a_reaped_training_is_billed_up_to_its_last_heartbeat(owner, store):
    from exeml.tenancy.models import UsageRecord
    from training.transitions import version_transition

    project = tabular_project(owner, store)
    assert train(owner, project, max_minutes=6).status_code == 202
    with owner.scope():
        version = ModelVersion.objects.get(project=project, name="V001")
        version_transition(version_id=version.pk, status="running")
        start = timezone.now() - timedelta(minutes=30)
        ModelVersion.objects.filter(pk=version.pk).update(started_at=start, heartbeat_at=start + timedelta(minutes=10))
    assert version.pk in services.reap_stale_versions()
    with owner.scope():
        usage = UsageRecord.objects.get(resource_id=version.pk)
    assert abs(usage.minutes - 10) < 0.01, usage.minutes  # not the 20 dead minutes after the last heartbeat


@pytest.mark.django_db
def test_a_queued_job_no_worker_takes_ends_failed_when_the_workers_are_idle(owner):
    with owner.scope():
        job = job_create(kind="dataset_sync")
    patience = max(WAIT, timedelta(seconds=5 * settings.EXEML_HEARTBEAT_TIMEOUT_SECONDS))
    later = job.created_at + patience + timedelta(seconds=1)
    assert reap_jobs(now=later, workers_busy=True) == []  # perhaps waiting behind other work
    assert reap_jobs(now=job.created_at + patience / 2) == []
    assert reap_jobs(now=later) == [job.pk]
    body = owner.client.get(f"/api/v1/jobs/{job.pk}").json()
    assert body["status"] == "failed" and body["detail"].startswith("no worker took the job within"), body

"""A training of a large dataset does not publish its data inside the train request: the
request starts a dataset_version job and answers at once; the run waits for the job and trains
on the version it wrote (issue 24). Real worker, database, broker and object store; the
inline limit is lowered, and the publish slowed per sample by the tests' hook."""

from __future__ import annotations

import pytest
from django.test import override_settings

from datasets.models import DatasetVersion
from datasets.version_jobs import sample_delay_key_for_tests
from tests.conftest import wait_for
from tests.training.helpers_training import text_project, train, version_get, wait_status

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def slow_publish(worker_delay):
    """``slow_publish(dataset_id, seconds_per_sample)``: slow the version jobs of a dataset."""
    return lambda dataset_id, seconds_per_sample: worker_delay(sample_delay_key_for_tests(dataset_id), seconds_per_sample)


def _job(owner, job_id) -> dict:
    return owner.client.get(f"/api/v1/jobs/{job_id}").json()


@override_settings(EXEML_VERSION_INLINE_MAX_SAMPLES=20)
def test_a_large_training_answers_before_its_data_is_published_then_trains_on_it(
    celery_worker, owner, store, slow_publish
):
    project = text_project(owner, store, per_class=30)
    slow_publish(project.dataset_id, 0.03)  # ~2 s of publishing after the answer
    r = train(owner, project, max_minutes=6, preference="performance_first")
    assert r.status_code == 202, r.content
    version = r.json()
    # The answer came first: no dataset version yet, a job publishing one.
    assert version["dataset_version"] is None, version
    job_id = version["params"]["dataset_version_job"]
    job = _job(owner, job_id)
    assert job["kind"] == "dataset_version" and job["counts"]["samples"] == 60, job
    with owner.scope():
        assert not DatasetVersion.objects.filter(dataset_id=project.dataset_id).exists()

    done = wait_status(owner, project, version["id"], {"completed", "failed", "stopped"}, timeout=180)
    assert done["status"] == "completed", done
    published = _job(owner, job_id)
    assert published["status"] == "succeeded"
    assert done["dataset_version"]["id"] == published["result"]["version"]
    lines = owner.client.get(f"/api/v1/projects/{project.pk}/versions/{version['id']}/logs").json()["lines"]
    assert any("waiting for job" in line and "publish the dataset version" in line for line in lines), lines[:20]
    assert any(f"dataset version {done['dataset_version']['name']} published" in line for line in lines)


@override_settings(EXEML_VERSION_INLINE_MAX_SAMPLES=20)
def test_a_cancelled_publish_fails_the_training_with_the_reason(celery_worker, owner, store, slow_publish):
    project = text_project(owner, store, per_class=30)
    slow_publish(project.dataset_id, 0.3)  # ~18 s: time to cancel while it runs
    r = train(owner, project, max_minutes=6, preference="performance_first")
    assert r.status_code == 202, r.content
    version = r.json()
    job_id = version["params"]["dataset_version_job"]
    wait_for(lambda: version_get(owner, project, version["id"])["phase"].startswith("publishing data"),
             timeout=60, interval=0.2, message="the run to wait for the publish")
    assert owner.client.post(f"/api/v1/jobs/{job_id}/cancel").status_code in (200, 202)
    done = wait_status(owner, project, version["id"], {"completed", "failed", "stopped"}, timeout=120)
    assert done["status"] == "failed", done
    assert "could not be published (cancelled)" in done["error"], done["error"]
    assert done["dataset_version"] is None

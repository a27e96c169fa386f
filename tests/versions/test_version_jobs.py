"""Dataset versions as jobs: a large publish answers 202 with a job at once, a worker writes it.

A test hook (EXEML_TEST_HOOKS, on in the tests' worker) slows a dataset's version jobs per
sample through the shared cache, so the answer provably comes before the publish ends and a
cancel provably lands while it runs. Nothing is mocked: the real worker, database, broker and
object store. The inline limit is lowered with override_settings (the request decides it).
"""

from __future__ import annotations

import pytest
from django.test import override_settings

from datasets.models import Annotation, DatasetVersion, DatasetVersionItem, Label, Sample
from datasets.version_jobs import sample_delay_key_for_tests
from exeml.task_types import TaskType
from tests.conftest import wait_for
from tests.labeling.labelkit import detection_samples, make_dataset, text_samples
from tests.versions.test_versions_publish import _outputs, versions_url

pytestmark = pytest.mark.django_db(transaction=True)
N = 120


@pytest.fixture
def slow_publish(worker_delay):
    """``slow_publish(dataset_id, seconds_per_sample)``: slow the version jobs of a dataset."""
    return lambda dataset_id, seconds_per_sample: worker_delay(sample_delay_key_for_tests(dataset_id), seconds_per_sample)


def _labelled_texts(owner, store, n: int = N):
    ds = make_dataset(owner, TaskType.TEXT_CLASSIFICATION, name="reviews")
    samples = text_samples(owner, store, ds, [f"review number {i}" for i in range(n)])
    with owner.scope():
        good = Label.objects.create(dataset=ds, name="good", color="#112233")
        bad = Label.objects.create(dataset=ds, name="bad", color="#332211")
        Annotation.objects.bulk_create(
            [Annotation(tenant_id=ds.tenant_id, sample=s, label=good if i % 3 else bad)
             for i, s in enumerate(samples)]
        )
        Sample.objects.filter(dataset=ds).update(labeled=True)
    return ds


def _job(owner, job_id) -> dict:
    return owner.client.get(f"/api/v1/jobs/{job_id}").json()


def _versions(owner, ds) -> int:
    with owner.scope():
        return DatasetVersion.objects.filter(dataset=ds).count()


@override_settings(EXEML_VERSION_INLINE_MAX_SAMPLES=20)
def test_a_large_version_answers_with_a_job_before_it_is_written(celery_worker, owner, store, slow_publish):
    ds = _labelled_texts(owner, store)
    slow_publish(ds.pk, 0.03)  # about 3.6 s of publishing after the answer
    r = owner.client.post(versions_url(ds), {"train_ratio": 0.75, "seed": 3, "name": "big"}, format="json")
    assert r.status_code == 202, r.content
    job = r.json()
    assert job["kind"] == "dataset_version" and job["status"] in ("queued", "running"), job
    assert job["counts"]["samples"] == N, job
    # The answer came first: no version exists yet.
    assert _versions(owner, ds) == 0
    end = wait_for(lambda: (b := _job(owner, job["id"]))["status"] in ("succeeded", "failed", "cancelled") and b,
                   timeout=120, interval=0.2, message="the version job")
    assert end["status"] == "succeeded", (end["detail"], end["errors"])
    assert end["progress"] == 1.0 and end["counts"]["samples_written"] == N, end
    assert end["counts"]["train"] + end["counts"]["eval"] == N and end["counts"]["eta_seconds"] == 0, end
    version = owner.client.get(f"{versions_url(ds)}/{end['result']['version']}").json()
    assert version["name"] == "big" and version["counts"]["total"] == N, version
    assert version["counts"]["train"] == end["counts"]["train"], (version, end)
    with owner.scope():
        assert DatasetVersionItem.objects.filter(version_id=version["id"]).count() == N
    assert any(k.endswith("reviews-big.manifest") for k in _outputs(store, ds))
    # A clash with the published name is refused at once, naming the field.
    again = owner.client.post(versions_url(ds), {"name": "big"}, format="json")
    assert again.status_code == 400 and "name" in again.json(), again.content


@override_settings(EXEML_VERSION_INLINE_MAX_SAMPLES=20)
def test_a_cancelled_version_job_leaves_no_version_and_no_files(celery_worker, owner, store, slow_publish):
    ds = _labelled_texts(owner, store)
    slow_publish(ds.pk, 0.1)  # 12 s: time to cancel while it runs
    r = owner.client.post(versions_url(ds), {}, format="json")
    assert r.status_code == 202, r.content
    job_id = r.json()["id"]
    wait_for(lambda: _job(owner, job_id)["status"] == "running", timeout=60, interval=0.1, message="running")
    c = owner.client.post(f"/api/v1/jobs/{job_id}/cancel")
    assert c.status_code in (200, 202), c.content
    end = wait_for(lambda: (b := _job(owner, job_id))["status"] in ("succeeded", "failed", "cancelled") and b,
                   timeout=60, interval=0.2, message="the cancel")
    assert end["status"] == "cancelled", end
    assert end["result"] == {}, end
    assert _versions(owner, ds) == 0
    with owner.scope():
        assert not DatasetVersionItem.objects.filter(version__dataset=ds).exists()
    assert _outputs(store, ds) == []


def test_a_small_version_is_published_in_the_request(owner, store):
    """At or under the inline limit the answer is the version itself (201), as before."""
    ds = _labelled_texts(owner, store, n=12)
    with override_settings(EXEML_VERSION_INLINE_MAX_SAMPLES=12):
        r = owner.client.post(versions_url(ds), {"seed": 1}, format="json")
    assert r.status_code == 201 and r.json()["counts"]["total"] == 12, r.content


@override_settings(EXEML_VERSION_INLINE_MAX_SAMPLES=5)
def test_a_bad_parameter_of_a_large_version_is_a_400_before_any_job(owner, store):
    ds = _labelled_texts(owner, store, n=12)
    r = owner.client.post(versions_url(ds), {"train_ratio": 1.5}, format="json")
    assert r.status_code == 400 and "train_ratio" in r.json(), r.content
    r = owner.client.post(versions_url(ds), {"name": "bad name!"}, format="json")
    assert r.status_code == 400 and "name" in r.json(), r.content
    jobs = owner.client.get("/api/v1/jobs", {"kind": "dataset_version"}).json()
    assert jobs["results"] == [], jobs


@override_settings(EXEML_VERSION_INLINE_MAX_SAMPLES=20)  # detection: a tenth, 2 samples
def test_a_cancelled_detection_version_removes_the_voc_files_it_put(celery_worker, owner, store, slow_publish):
    """Detection puts a VOC file per sample before the manifest: a cancel after they are in
    storage (the job sleeps after its batch) must remove them although the job is stopped."""
    ds = make_dataset(owner, TaskType.OBJECT_DETECTION, name="cars")
    detection_samples(owner, store, ds, n=4, with_boxes=True)
    slow_publish(ds.pk, 3.0)  # after the batch's VOC files: 12 s
    r = owner.client.post(versions_url(ds), {}, format="json")
    assert r.status_code == 202, r.content
    job_id = r.json()["id"]
    wait_for(lambda: any(k.endswith(".xml") for k in _outputs(store, ds)), timeout=60, interval=0.1,
             message="the VOC files in the output path")
    assert owner.client.post(f"/api/v1/jobs/{job_id}/cancel").status_code == 200
    end = wait_for(lambda: (b := _job(owner, job_id))["status"] in ("succeeded", "failed", "cancelled") and b,
                   timeout=60, interval=0.2, message="the cancel")
    assert end["status"] == "cancelled", end
    assert _versions(owner, ds) == 0
    assert _outputs(store, ds) == []

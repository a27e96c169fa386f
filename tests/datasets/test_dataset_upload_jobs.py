"""Uploads are jobs: a large upload is stored and answered 202 at once, a worker imports it.

A test hook (EXEML_TEST_HOOKS, on in the tests' worker) slows a dataset's upload import per
row through the shared cache, so the answer provably comes before the import ends. Nothing
is mocked: the real worker, database, broker and object store.
"""

from __future__ import annotations

import pytest

from datasets.models import Sample, SourceObject
from datasets.upload_import import row_delay_key_for_tests
from tests.conftest import wait_for
from tests.datasets.helpers import folder, wait_job
from tests.datasets.test_dataset_upload import _dataset, _stored, _upload

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _bucket(store):
    return store


def _lines(n: int, word: bytes = b"comment") -> bytes:
    return b"".join(b"%s number %d is fine\n" % (word, i) for i in range(n))


@pytest.fixture
def slow_import(worker_delay):
    """``slow_import(dataset_id, seconds_per_row)``: slow the upload imports of a dataset."""
    return lambda dataset_id, seconds_per_row: worker_delay(row_delay_key_for_tests(dataset_id), seconds_per_row)


def _samples(actor, dataset_id) -> int:
    with actor.scope():
        return Sample.objects.filter(dataset_id=dataset_id).count()


def _keys(actor, dataset_id) -> list[str]:
    with actor.scope():
        return sorted(k.rsplit("/", 1)[-1] for k in SourceObject.objects.filter(dataset_id=dataset_id)
                      .values_list("key", flat=True))


def test_a_large_upload_answers_with_a_job_before_its_import_ends(celery_worker, owner, slow_import):
    ds = _dataset(owner, "text_classification")
    slow_import(ds["id"], 0.002)  # 3,000 rows: about 6 s of import after the answer
    r = _upload(owner, ds["id"], [("big.txt", _lines(3000))])
    assert r.status_code == 202, r.content
    job = r.json()
    assert job["kind"] == "dataset_upload" and job["status"] in ("queued", "running"), job
    # The answer came first: the import had not written its samples yet.
    assert _samples(owner, ds["id"]) < 3000
    seen_running = []

    def done():
        body = owner.client.get(f"/api/v1/jobs/{job['id']}").json()
        if body["status"] == "running" and 0 < body["progress"] < 1:
            seen_running.append(body)
        return body if body["status"] in ("succeeded", "failed", "cancelled") else None

    end = wait_for(done, timeout=300, interval=0.2, message="the upload's import")
    assert end["status"] == "succeeded", (end["detail"], end["errors"])
    assert end["result"] == {"accepted": [{"file": "big.txt", "id": end["result"]["accepted"][0]["id"],
                                           "count": 3000}], "rejected": []}
    assert end["errors"] == [] and end["progress"] == 1.0 and end["counts"]["samples_written"] == 3000
    # Followed while it ran: progress between 0 and 1, with an ETA.
    assert seen_running and "eta_seconds" in seen_running[-1]["counts"], seen_running
    assert _samples(owner, ds["id"]) == 3000
    assert owner.client.get(f"/api/v1/datasets/{ds['id']}").json()["sample_count"] == 3000
    # Registered as a sync would: the next sync finds it unchanged.
    sync = owner.client.post(f"/api/v1/datasets/{ds['id']}/sync").json()
    sync = wait_job(owner, sync["id"], timeout=120)
    assert sync["counts"]["unchanged"] == 1 and sync["counts"]["imported"] == 0, sync


def test_a_refused_file_in_a_large_upload_writes_nothing(celery_worker, owner):
    base = folder(owner.tenant)
    ds = _dataset(owner, "text_classification", base=base)
    binary = b"\x00" * 1_200_000 + b"\n"
    r = _upload(owner, ds["id"], [("good.txt", _lines(2000)), ("bin.txt", binary), ("c+d.txt", b"x\n")])
    assert r.status_code == 202, r.content
    # Refused by the request's own checks: in the job's errors from the start.
    assert [e["file"] for e in r.json()["errors"]] == ["c+d.txt"] and "plus" in r.json()["errors"][0]["reason"]
    end = wait_job(owner, r.json()["id"], timeout=300)
    assert end["status"] == "succeeded", (end["detail"], end["errors"])
    assert [a["file"] for a in end["result"]["accepted"]] == ["good.txt"]
    rejected = {x["file"]: x["reason"] for x in end["result"]["rejected"]}
    assert set(rejected) == {"c+d.txt", "bin.txt"} and "NUL bytes" in rejected["bin.txt"], rejected
    assert {e["file"]: e["reason"] for e in end["errors"]} == rejected
    # Nothing of the refused files stays: no object, no row, no sample.
    assert sorted(k.rsplit("/", 1)[-1] for k in _stored(owner, base)) == ["good.txt"]
    assert _keys(owner, ds["id"]) == ["good.txt"]
    assert _samples(owner, ds["id"]) == 2000


def test_a_large_upload_whose_every_file_is_refused_fails_and_keeps_nothing(celery_worker, owner):
    base = folder(owner.tenant)
    ds = _dataset(owner, "text_classification", base=base)
    binary = b"\x00" * 1_200_000 + b"\n"
    r = _upload(owner, ds["id"], [("a.txt", binary), ("b.txt", binary)])
    assert r.status_code == 202, r.content
    end = wait_job(owner, r.json()["id"], timeout=300)
    assert end["status"] == "failed", end
    assert end["detail"].startswith("none of the 2 files was accepted: a.txt: ") and "NUL bytes" in end["detail"]
    assert sorted(e["file"] for e in end["errors"]) == ["a.txt", "b.txt"]
    assert end["result"]["accepted"] == [] and len(end["result"]["rejected"]) == 2
    assert _stored(owner, base) == [] and _keys(owner, ds["id"]) == [] and _samples(owner, ds["id"]) == 0


def test_a_large_upload_refused_by_the_request_checks_is_still_400_and_starts_no_job(owner):
    base = folder(owner.tenant)
    ds = _dataset(owner, "text_classification", base=base)
    r = _upload(owner, ds["id"], [("a+b.txt", _lines(60_000)), ("notes.md", _lines(10))])
    assert r.status_code == 400, r.content
    rejected = {x["file"]: x["reason"] for x in r.json()["rejected"]}
    assert set(rejected) == {"a+b.txt", "notes.md"} and "plus" in rejected["a+b.txt"]
    assert _stored(owner, base) == []
    jobs = owner.client.get("/api/v1/jobs", {"target_id": ds["id"], "kind": "dataset_upload"}).json()
    assert jobs["count"] == 0, jobs


def test_a_cancelled_upload_keeps_none_of_its_files(celery_worker, owner, slow_import):
    base = folder(owner.tenant)
    ds = _dataset(owner, "text_classification", base=base)
    slow_import(ds["id"], 0.005)  # 5,000 rows: 25 s, cancelled within the first seconds
    r = _upload(owner, ds["id"], [("big.txt", _lines(5000))])
    assert r.status_code == 202, r.content
    job_id = r.json()["id"]
    wait_for(lambda: owner.client.get(f"/api/v1/jobs/{job_id}").json()["counts"].get("samples_written"),
             timeout=120, interval=0.2, message="the import's first rows")
    cancel = owner.client.post(f"/api/v1/jobs/{job_id}/cancel")
    assert cancel.status_code == 200, cancel.content
    end = wait_for(lambda: (b := owner.client.get(f"/api/v1/jobs/{job_id}").json())["status"] != "running" and b,
                   timeout=60, message="the cancel")
    assert end["status"] == "cancelled", end
    wait_for(lambda: _stored(owner, base) == [] and _samples(owner, ds["id"]) == 0 and not _keys(owner, ds["id"]),
             timeout=30, message="the cancelled upload's files and rows to go")

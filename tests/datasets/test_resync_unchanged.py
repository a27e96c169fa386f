"""A re-sync with nothing changed: the listing compared in bulk with what is stored.

It writes no sample, annotation or source-object content, and its database queries do not
grow with the number of objects (a few bulk queries a page, none per object).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from datasets import sync as sync_module
from datasets.models import Annotation, Dataset, Sample, SourceObject
from datasets.services import dataset_sync
from tests.datasets.helpers import create_project, folder, jpeg, put_files, wait_job

DATA_TABLES = (Sample._meta.db_table, SourceObject._meta.db_table, Annotation._meta.db_table)


def _files(images: int) -> list[tuple[str, bytes]]:
    image = jpeg()
    out: list[tuple[str, bytes]] = []
    for i in range(images):
        out += [(f"img_{i:04d}.jpg", image), (f"img_{i:04d}.txt", f"class_{i % 3}\n".encode())]
    return out


def _project(owner, images: int) -> str:
    base = folder(owner.tenant)
    # Put in parallel (the store is S3 over HTTP, one request per object), then create.
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda f: put_files(owner.tenant, base, [f]), _files(images)))
    project, _base = create_project(owner, "image_classification", files=[], base=base)
    ds_id = project["dataset"]["id"]
    # Creating the project starts its first sync on the worker: it must end before ours.
    started = owner.client.get(f"/api/v1/datasets/{ds_id}").json()["last_sync_job"]
    first = wait_job(owner, started["id"], timeout=120)
    assert first["status"] == "succeeded", first
    assert first["counts"]["imported"] == 2 * images and first["counts"]["failed"] == 0, first["errors"]
    return ds_id


def _sync(owner, ds_id):
    with owner.scope():
        job = dataset_sync(dataset=Dataset.objects.get(pk=ds_id))
    assert job.status == "succeeded", job.detail
    return job


def _content(owner, ds_id):
    with owner.scope():
        return (
            sorted(
                Sample.objects.filter(dataset_id=ds_id).values_list(
                    "pk", "updated_at", "revision", "labeled", "status"
                )
            ),
            sorted(
                SourceObject.objects.filter(dataset_id=ds_id).values_list(
                    "pk", "etag", "size", "status", "reason"
                )
            ),
            sorted(Annotation.objects.filter(sample__dataset_id=ds_id).values_list("pk", flat=True)),
        )


def _resync_queries(owner, images: int) -> list[str]:
    ds_id = _project(owner, images)
    before = _content(owner, ds_id)
    assert len(before[0]) == images and len(before[2]) == images  # every image labelled
    with CaptureQueriesContext(connection) as ctx:
        again = _sync(owner, ds_id)
    assert again.counts["unchanged"] == 2 * images
    assert again.counts["imported"] == again.counts["missing"] == again.counts["failed"] == 0
    assert _content(owner, ds_id) == before  # nothing created, updated or deleted
    sql = [q["sql"] for q in ctx.captured_queries]
    for table in DATA_TABLES:
        written = [s for s in sql if table in s and s.lstrip().upper().startswith(("INSERT", "DELETE"))]
        assert not written, written
    # The job watchdog reads from its own connection: the test commits (transaction=True).
    # The only write to the data: the seen_at of the page's objects, in one UPDATE.
    updates = [s for s in sql if s.lstrip().upper().startswith("UPDATE") and SourceObject._meta.db_table in s]
    assert all('"seen_at"' in s and '"etag"' not in s for s in updates), updates
    # Nothing gone: no sample is touched (not even an UPDATE matching no row, whose plan
    # depends on the database's statistics).
    sample_updates = [
        s for s in sql if s.lstrip().upper().startswith("UPDATE") and Sample._meta.db_table in s
    ]
    assert not sample_updates, sample_updates
    return sql


@pytest.mark.django_db(transaction=True)
def test_unchanged_resync_writes_nothing_and_its_queries_do_not_grow_with_the_objects(
    celery_worker, owner, monkeypatch
):
    # One listing page holds either size, so the page count is the same: what remains
    # would be per-object queries.
    monkeypatch.setattr(sync_module, "PAGE_SIZE", 1000)
    small = _resync_queries(owner, 25)  # 50 objects
    large = _resync_queries(owner, 250)  # 500 objects
    assert len(large) == len(small), (len(small), len(large))
    assert len(large) <= 40, large  # job bookkeeping + a few per page


@pytest.mark.django_db(transaction=True)
def test_resync_reimports_an_object_whose_size_changed_under_the_same_etag(celery_worker, owner, monkeypatch):
    ds_id = _project(owner, 2)
    with owner.scope():
        # As if the store reported another size for the same etag (a store that does not
        # change the etag on every write): compared with the listing, it is changed.
        SourceObject.objects.filter(dataset_id=ds_id, key__endswith="img_0000.jpg").update(size=1)
    again = _sync(owner, ds_id)
    assert again.counts["imported"] == 1 and again.counts["unchanged"] == 3
    with owner.scope():
        assert SourceObject.objects.get(dataset_id=ds_id, key__endswith="img_0000.jpg").size == len(jpeg())

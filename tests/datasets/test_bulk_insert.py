"""The import's bulk INSERT and the SQLite writer pause sized by the time the lock was held."""

from __future__ import annotations

import uuid

import pytest
from django.db import IntegrityError, transaction

from datasets.models import Dataset, DatasetCounter, Sample
from exeml.dbutil import prepare_insert, writer_pause_seconds

# SQLite's busy handler: the sleep before each try of a waiting writer
# (sqlite3.c, sqliteDefaultBusyCallback).
_DELAYS_MS = [1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50, 100]


def _next_try_within(waited: float) -> float:
    """The longest a writer that has waited ``waited`` seconds sleeps before its next try."""
    total = 0.0
    for d in _DELAYS_MS:
        if total + d / 1000 > waited:
            return d / 1000
        total += d / 1000
    return 0.1


@pytest.mark.parametrize("held", [0.0, 0.005, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 2.0])
def test_pause_outlasts_the_next_try_of_a_writer_that_waited_through_the_batch(settings, held):
    settings.EXEML_SQLITE_WRITER_PAUSE_SECONDS = 0.15
    pause = writer_pause_seconds(held)
    assert pause >= _next_try_within(held)
    assert pause <= 0.15


def test_pause_without_a_measure_is_the_configured_one(settings):
    settings.EXEML_SQLITE_WRITER_PAUSE_SECONDS = 0.15
    assert writer_pause_seconds(None) == 0.15


@pytest.mark.django_db
def test_prepared_insert_writes_every_field_keeps_counters_and_refuses_duplicates(owner):
    with owner.scope():
        ds = Dataset.objects.create(tenant=owner.tenant, name="bulk", task_type="text_classification")
        rows = [
            Sample(dataset=ds, tenant_id=ds.tenant_id, source="s3://b/a.txt", line_number=i, name="a.txt",
                   text=f"line {i}", labeled=i % 2 == 0, size=7)
            for i in range(1, 6)
        ]
        insert = prepare_insert(rows)
        with transaction.atomic():
            insert.execute()
        got = {s.line_number: s for s in Sample.objects.filter(dataset=ds)}
        assert sorted(got) == [1, 2, 3, 4, 5]
        assert got[3].text == "line 3" and got[3].size == 7 and got[2].labeled and not got[3].labeled
        assert got[3].created_at is not None and got[3].updated_at == got[3].created_at
        assert all(not s._state.adding for s in rows)
        counter = DatasetCounter.objects.get(dataset=ds)
        assert (counter.samples, counter.labeled) == (5, 2)  # the triggers ran for every row

        dup = Sample(dataset=ds, tenant_id=ds.tenant_id, source="s3://b/a.txt", line_number=3, name="a.txt")
        dup.pk = uuid.uuid4()
        with pytest.raises(IntegrityError), transaction.atomic():
            prepare_insert([dup]).execute()
        assert Sample.objects.filter(dataset=ds).count() == 5
        counter.refresh_from_db()
        assert (counter.samples, counter.labeled) == (5, 2)

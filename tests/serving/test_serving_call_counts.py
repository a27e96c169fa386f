"""Call accounting: counts per minute and latency bucket (no row per call), percentiles read
back from the histogram, old minutes pruned in batches, and the migration that turned the
per-call log into counts."""

from __future__ import annotations

import random
import uuid
from datetime import timedelta

import numpy as np
import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from exeml.tenancy.scoping import unscoped
from serving import latency, services
from serving.metrics import CallRecorder
from serving.models import Service, ServiceCallMinute, ServiceLatencyBucket
from tests.serving.serving_helpers import make_version, running_service

# --- The scale ------------------------------------------------------------------------------


def test_each_bucket_holds_what_its_bounds_say():
    for ms in (0.0, 0.05, 0.1):
        assert latency.bucket_of(ms) == 0
    assert latency.bucket_of(float("nan")) == 0
    for index in (1, 2, 25, 77, latency.LAST_BUCKET - 1):
        lower, upper = latency.bucket_bounds(index)
        assert upper == pytest.approx(lower * latency.RATIO)
        assert latency.bucket_of(upper) == index  # the upper bound belongs to the bucket
        assert latency.bucket_of(lower * 1.0001) == index
        assert latency.bucket_of(upper * 1.0001) == index + 1
    assert latency.bucket_of(10**9) == latency.bucket_of(float("inf")) == latency.LAST_BUCKET
    assert latency.bucket_bounds(latency.LAST_BUCKET)[1] < 60_000 < latency.bucket_bounds(latency.LAST_BUCKET)[1] * 1.1


def test_percentiles_from_counts_are_within_five_percent_of_the_exact_ones():
    rng = np.random.default_rng(7)
    for sample in (rng.lognormal(np.log(5), 0.4, 5000), rng.uniform(0.2, 40, 3000), np.full(50, 12.5)):
        counts: dict[int, int] = {}
        for value in sample:
            counts[latency.bucket_of(float(value))] = counts.get(latency.bucket_of(float(value)), 0) + 1
        estimated = latency.percentiles(counts)
        for name, q in (("p50", 50), ("p95", 95), ("p99", 99)):
            exact = float(np.percentile(sample, q))
            assert estimated[name] == pytest.approx(exact, rel=0.05), (name, estimated[name], exact)
    assert latency.percentiles({}) == {"p50": None, "p95": None, "p99": None}


# --- Recording and reading -------------------------------------------------------------------


@pytest.mark.django_db
def test_a_thousand_calls_in_a_minute_write_one_row_per_latency_bucket(owner, store, tabular_bundle):
    service = running_service(owner, make_version(owner, store, tabular_bundle))
    recorder = CallRecorder(background=False, interval=3600)
    recorder.flush()  # starts the interval: no record() below finds the buffer due
    latencies = [4.0] * 900 + [40.0] * 97 + [400.0] * 3
    random.Random(1).shuffle(latencies)
    for ms in latencies:
        recorder.record(service_id=service.pk, tenant_id=service.tenant_id, latency_ms=ms, ok=ms != 400.0)
    assert recorder.flush() == 1000
    with owner.scope():
        rows = list(ServiceCallMinute.objects.filter(service=service).values_list("bucket", "calls", "failures"))
        # Three latencies: three rows (four if the calls straddled a minute boundary), not 1,000.
        assert len(rows) <= 6 and sum(calls for _, calls, _ in rows) == 1000
        assert sum(f for _, _, f in rows) == 3 and {b for b, _, f in rows if f} == {latency.bucket_of(400.0)}
        service.refresh_from_db()
        assert (service.invocation_times, service.failed_times) == (1000, 3)

    metrics = owner.client.get(f"/api/v1/services/{service.pk}/metrics").json()
    assert metrics["calls"] == 1000 and metrics["failures"] == metrics["errors"] == 3
    assert metrics["last_hour"]["calls"] == 1000 and metrics["last_hour"]["failures"] == 3
    for window in (metrics["latency_ms"], metrics["last_hour"]["latency_ms"]):
        assert window["p50"] == pytest.approx(4.0, rel=0.1)
        assert window["p95"] == pytest.approx(40.0, rel=0.1)
        assert window["p99"] == pytest.approx(40.0, rel=0.1)

    # A second flush adds to the same rows.
    for _ in range(10):
        recorder.record(service_id=service.pk, tenant_id=service.tenant_id, latency_ms=4.0, ok=True)
    recorder.flush()
    metrics = owner.client.get(f"/api/v1/services/{service.pk}/metrics").json()
    assert metrics["calls"] == metrics["last_hour"]["calls"] == 1010


@pytest.mark.django_db
def test_the_last_hour_counts_only_its_minutes(owner, store, tabular_bundle):
    service = running_service(owner, make_version(owner, store, tabular_bundle))
    now = timezone.now().replace(second=0, microsecond=0)
    with owner.scope():
        for minutes_ago, ms, calls, failures in ((90, 100.0, 50, 5), (30, 3.0, 8, 1), (0, 3.0, 2, 0)):
            ServiceCallMinute.objects.create(service=service, minute=now - timedelta(minutes=minutes_ago),
                                             bucket=latency.bucket_of(ms), calls=calls, failures=failures)
    last_hour = owner.client.get(f"/api/v1/services/{service.pk}/metrics").json()["last_hour"]
    assert (last_hour["calls"], last_hour["failures"]) == (10, 1)
    assert last_hour["latency_ms"]["p99"] == pytest.approx(3.0, rel=0.1)


@pytest.mark.django_db
def test_old_minutes_are_pruned_in_batches_for_every_tenant(owner, outsider, store, tabular_bundle, monkeypatch):
    now = timezone.now().replace(second=0, microsecond=0)
    kept = []
    for actor in (owner, outsider):
        service = running_service(actor, make_version(actor, store, tabular_bundle))
        with actor.scope():
            for minutes_ago in range(24 * 60 + 1, 24 * 60 + 8):
                ServiceCallMinute.objects.create(service=service, minute=now - timedelta(minutes=minutes_ago),
                                                 bucket=3, calls=1)
            kept.append(ServiceCallMinute.objects.create(service=service, minute=now, bucket=3, calls=1).pk)
    monkeypatch.setattr(services, "CALL_PRUNE_BATCH", 3)
    assert services.calls_prune(before=now - services.CALL_RETENTION) == 14
    with unscoped():
        assert sorted(ServiceCallMinute.all_tenants.values_list("pk", flat=True)) == sorted(kept)


# --- The migration from per-call rows ---------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_migration_keeps_the_last_hour_and_the_histogram(owner, store, tabular_bundle):
    service = running_service(owner, make_version(owner, store, tabular_bundle))
    before, after = [("serving", "0003_service_confidence_threshold")], [("serving", "0004_call_minutes")]
    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes("serving")
    try:
        executor.migrate(before)
        old = MigrationExecutor(connection).loader.project_state(before).apps
        Call, Bucket = old.get_model("serving", "ServiceCall"), old.get_model("serving", "ServiceLatencyBucket")
        now = timezone.now()
        minute = now.replace(second=0, microsecond=0) - timedelta(minutes=5)
        common = {"tenant_id": service.tenant_id, "service_id": service.pk}
        Call.objects.bulk_create(
            [Call(id=uuid.uuid4(), at=minute + timedelta(seconds=i), latency_ms=4.0, ok=i != 0, **common)
             for i in range(20)]
            + [Call(id=uuid.uuid4(), at=now - timedelta(hours=3), latency_ms=4.0, ok=True, **common)]
        )
        # Old scale: bucket 3 is (3, 5] ms, bucket 9 is (30, 50] ms.
        Bucket.objects.bulk_create([Bucket(id=uuid.uuid4(), bucket=3, count=70, **common),
                                    Bucket(id=uuid.uuid4(), bucket=9, count=30, **common)])

        MigrationExecutor(connection).migrate(after)
        with owner.scope():
            rows = list(
                ServiceCallMinute.objects.filter(service=service).values_list("minute", "bucket", "calls", "failures")
            )
            assert rows == [(minute, latency.bucket_of(4.0), 20, 1)]
            histogram = dict(ServiceLatencyBucket.objects.filter(service=service).values_list("bucket", "count"))
            assert histogram == {latency.bucket_of(5.0): 70, latency.bucket_of(50.0): 30}
            assert Service.objects.filter(pk=service.pk).exists()

        # And back: the since-start histogram returns to the old buckets.
        MigrationExecutor(connection).migrate(before)
        assert dict(Bucket.objects.filter(service_id=service.pk).values_list("bucket", "count")) == {3: 70, 9: 30}
    finally:
        MigrationExecutor(connection).migrate(latest)

"""A worker lost mid-training (kill -9) costs seconds, not the heartbeat window: the version
goes back to its queue with the reason and another worker on the queue takes it; after
EXEML_MAX_TRAINING_RESTARTS it ends failed with the reason instead."""

from __future__ import annotations

import os
import signal
import uuid
from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from tests.conftest import WorkerProcess, wait_for
from tests.training.helpers_training import make_flavor, tabular_project, train, version_get
from training import services
from training.models import ModelVersion
from training.transitions import version_transition

LOST_BOUND_S = 30.0  # the promise: re-queued (or failed) this long after the kill at the latest


def _training(owner, store, queue: str):
    project = tabular_project(owner, store, rows=1500)
    flavor = make_flavor(queue=queue)
    assert train(owner, project, flavor=flavor.code, max_minutes=6, preference="accuracy_first").status_code == 202
    running = wait_for(lambda: (v := version_get(owner, project, "V001"))["phase"] not in ("", "starting",
                                                                                        "downloading data") and v,
                       timeout=90, message="training to start")
    assert running["status"] == "running", running
    with owner.scope():
        return project, ModelVersion.objects.get(project=project, name="V001")


def _stop(owner, project) -> None:
    owner.client.post(f"/api/v1/projects/{project.pk}/versions/V001/stop")
    wait_for(lambda: version_get(owner, project, "V001")["status"] in ("stopped", "completed", "failed"),
             timeout=60, message="the training to stop")


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_training_hands_the_version_to_another_worker(owner, store):
    queue = f"train.test-{uuid.uuid4().hex[:6]}"
    doomed, heir = WorkerProcess(queue, 1, "doomed"), WorkerProcess(queue, 1, "heir")
    doomed.start()
    try:
        project, version = _training(owner, store, queue)
        heir.start()  # only now: the first worker surely took the training
        doomed.kill_children()  # the whole worker, main process and pool, as a host that dies
        lost_worker = version.worker

        def handed_back():
            services.reap_lost_trainings()  # what beat sends every EXEML_WORKER_LOST_CHECK_SECONDS
            with owner.scope():
                row = ModelVersion.objects.get(pk=version.pk)
            return row if row.status != "running" or row.worker != lost_worker else None

        row = wait_for(handed_back, timeout=LOST_BOUND_S, interval=1.0, message="the lost training to be handed back")
        assert row.status in ("queued", "running"), (row.status, row.error)
        reason = next(line for line in row.log_tail if "was lost (no heartbeat for" in line)
        assert f"its worker {lost_worker} was lost" in reason and "back in the queue" in reason, reason

        def taken_by_heir():
            data = version_get(owner, project, "V001")
            return data if data["status"] == "running" and data["phase"] not in ("", "starting") else None

        wait_for(taken_by_heir, timeout=90, message="the second worker to take the training")
        with owner.scope():
            row = ModelVersion.objects.get(pk=version.pk)
        assert row.worker and row.worker != lost_worker and row.params["restarts"] == 1
        _stop(owner, project)
    finally:
        doomed.stop()
        heir.stop()


@pytest.mark.django_db(transaction=True)
def test_a_pool_process_killed_mid_training_is_taken_over_at_once_by_the_redelivery(owner, store):
    """Celery notices the dead pool process and re-queues the message (acks_late +
    reject_on_worker_lost); the redelivery sees the recorded process is gone and starts again."""
    queue = f"train.test-{uuid.uuid4().hex[:6]}"
    worker = WorkerProcess(queue, 1, "survivor")
    worker.start()
    try:
        project, version = _training(owner, store, queue)
        pid = int(version.worker.rpartition(":")[2])
        os.kill(pid, signal.SIGKILL)

        def restarted():
            with owner.scope():
                row = ModelVersion.objects.get(pk=version.pk)
            return row if row.status == "running" and row.worker not in ("", version.worker) else None

        row = wait_for(restarted, timeout=LOST_BOUND_S, interval=0.5, message="the redelivered training to start")
        assert row.params["restarts"] == 1
        assert any("its worker stopped during the training; back in the queue" in line for line in row.log_tail)
        _stop(owner, project)
    finally:
        worker.stop()


@pytest.mark.django_db
def test_a_lost_training_past_its_restarts_ends_failed_with_the_reason(owner, store):
    project = tabular_project(owner, store)
    flavor = make_flavor(queue=f"train.nobody-{uuid.uuid4().hex[:6]}")
    assert train(owner, project, flavor=flavor.code, max_minutes=6).status_code == 202
    with owner.scope():
        version = ModelVersion.objects.get(project=project, name="V001")
        version_transition(version_id=version.pk, status="running", worker="gone-host:4242",
                           params={**version.params, "restarts": 2})
        fresh = timezone.now()
        ModelVersion.objects.filter(pk=version.pk).update(heartbeat_at=fresh - timedelta(seconds=5))
    with override_settings(EXEML_WORKER_LOST_SECONDS=15, EXEML_MAX_TRAINING_RESTARTS=2):
        assert services.reap_lost_trainings(now=fresh) == []  # 5 s of silence: alive
        assert services.reap_lost_trainings(now=fresh + timedelta(seconds=11)) == [version.pk]
    with owner.scope():
        version.refresh_from_db()
    assert version.status == "failed"
    assert version.error == ("its worker gone-host:4242 was lost (no heartbeat for 16 s); "
                             "it was restarted 2 time(s) already, so it ends here"), version.error


@pytest.mark.django_db
def test_a_host_that_stops_hands_back_only_the_trainings_of_its_own_workers(owner, store):
    import socket

    from django.core.management import call_command

    versions = []
    for n, host in enumerate((socket.gethostname(), "another-host")):
        project = tabular_project(owner, store, name=f"tab{n}")
        flavor = make_flavor(queue=f"train.nobody-{uuid.uuid4().hex[:6]}")
        assert train(owner, project, flavor=flavor.code, max_minutes=6).status_code == 202
        with owner.scope():
            version = ModelVersion.objects.get(project=project, name="V001")
            version_transition(version_id=version.pk, status="running", worker=f"{host}:4242")
        versions.append(version)
    call_command("trainings_hand_back")
    with owner.scope():
        mine, theirs = (ModelVersion.objects.get(pk=v.pk) for v in versions)
    assert mine.status == "queued" and "the platform was stopped during the training" in mine.log_tail[-1]
    assert theirs.status == "running" and theirs.worker == "another-host:4242"


@pytest.mark.django_db(transaction=True)
def test_a_training_handed_back_while_its_worker_lived_runs_once(owner, store):
    """A heartbeat that only stalled (the worker lived): the version is handed back and taken
    by another worker; the first run notices, stops, and leaves the new run's row alone."""
    queue = f"train.test-{uuid.uuid4().hex[:6]}"
    first, second = WorkerProcess(queue, 1, "stalled"), WorkerProcess(queue, 1, "second")
    first.start()
    try:
        project, version = _training(owner, store, queue)
        second.start()
        stalled_worker = version.worker
        # As if the heartbeat had been silent for a minute: the reaper hands the training back.
        assert services.reap_lost_trainings(now=timezone.now() + timedelta(seconds=60)) == [version.pk]

        def taken_by_second():
            with owner.scope():
                row = ModelVersion.objects.get(pk=version.pk)
            return row if row.status == "running" and row.worker not in ("", stalled_worker) else None

        row = wait_for(taken_by_second, timeout=60, message="the second worker to take the training")
        new_worker = row.worker
        # The first run's pulse sees the row is no longer its own within a pulse or two, stops,
        # and drops its outcome: the version stays with the second worker.
        wait_for(lambda: b"was replaced by another; its outcome" in first.log.read_bytes(), timeout=60,
                 message="the first run to stop")
        with owner.scope():
            row = ModelVersion.objects.get(pk=version.pk)
        assert row.status == "running" and row.worker == new_worker, (row.status, row.worker, row.error)
        _stop(owner, project)
    finally:
        first.stop()
        second.stop()

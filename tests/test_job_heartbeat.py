"""The heartbeat thread of a job step, against a job its own connection cannot see yet."""

from __future__ import annotations

import time

import pytest

from exeml.jobs.models import JobStatus
from exeml.jobs.services import _STOP_POLL_SECONDS, job_checkpoint, job_create, job_heartbeat, job_transition


@pytest.mark.django_db  # the job is created inside the test's transaction: uncommitted
def test_a_step_inside_the_transaction_that_created_its_job_is_not_stopped(owner):
    """An inline step (a sync from a shell, the demo install in a test) runs inside the
    transaction that created its job. The heartbeat thread reads the job on a connection of
    its own and does not see it; before, it took the missing row for an ended job after one
    poll and stopped the step, so a sync longer than a second imported nothing."""
    with owner.scope():
        job = job_create(kind="sync", target_type="dataset")
        job_transition(job_id=job.pk, status=JobStatus.RUNNING)
        with job_heartbeat(job.pk):
            time.sleep(_STOP_POLL_SECONDS * 2.5)
            job_checkpoint()  # raised JobCancelled("the job already ended") before

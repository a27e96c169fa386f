"""Platform-level tasks."""

from __future__ import annotations

import os

from celery import shared_task

from exeml.jobs import services as job_services
from exeml.jobs.models import JobStatus
from exeml.tenancy.scoping import tenant_scope


@shared_task(name="exeml.echo")
def echo(job_id: str, tenant_id: str, message: str) -> None:
    """A round-trip probe: the worker writes the message back on the job row."""
    with tenant_scope(tenant_id):
        job_services.job_transition(job_id=job_id, status=JobStatus.RUNNING)
        job = job_services.job_transition(job_id=job_id, status=JobStatus.SUCCEEDED)


        job_services.job_progress(job=job, result={"echo": message, "worker_pid": os.getpid()})

"""The Celery base class of tasks that carry a Job: its row never stays queued/running forever."""

from __future__ import annotations

from celery import Task

from exeml.jobs.services import job_give_up
from exeml.tenancy.scoping import tenant_scope


class JobTask(Task):
    """A task called as ``task(job_id, tenant_id, ...)``; when it finally fails, so does its job."""

    # The job's detail reads "<failure_reason>: <error>".
    failure_reason = "the task failed"

    def on_failure(self, exc, task_id, args, kwargs, einfo) -> None:
        job_id, tenant_id = args[0], args[1]
        with tenant_scope(tenant_id):
            job_give_up(job_id=job_id, reason=f"{self.failure_reason}: {exc}")

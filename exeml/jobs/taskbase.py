"""The Celery base class of tasks that carry a Job: whatever ends them, the job ends too."""

from __future__ import annotations

from celery import Task

from exeml.errors import public_reason
from exeml.jobs.services import job_fail_if_active
from exeml.tenancy.scoping import tenant_scope


class JobTask(Task):
    """For tasks called with (job_id, tenant_id, ...): when retries are exhausted, or an
    error escapes the service, the job is failed with the reason instead of staying active."""

    failure_prefix = "the job failed"

    def on_failure(self, exc, task_id, args, kwargs, einfo) -> None:
        job_id = args[0] if args else kwargs.get("job_id")
        tenant_id = args[1] if len(args) > 1 else kwargs.get("tenant_id")
        if not job_id or not tenant_id:
            return
        with tenant_scope(tenant_id):
            job_fail_if_active(job_id=job_id, reason=f"{self.failure_prefix}: {public_reason(exc)}")

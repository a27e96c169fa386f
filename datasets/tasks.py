"""Celery entry points of datasets: load by id, call the service, nothing else."""

from __future__ import annotations

from celery import Task, shared_task

from datasets import services
from exeml.storage import TransientStorageError
from exeml.tenancy.scoping import tenant_scope


class _SyncTask(Task):
    def on_failure(self, exc, task_id, args, kwargs, einfo) -> None:
        # Retries exhausted (or a bug before the service could record it): the row says so.
        job_id, tenant_id = args[0], args[1]
        with tenant_scope(tenant_id):
            services.sync_job_failed(job_id=job_id, reason=f"synchronization failed: {exc}")


@shared_task(
    bind=True, base=_SyncTask, name="datasets.sync", acks_late=True,
    autoretry_for=(TransientStorageError,), retry_backoff=True, max_retries=3,
)
def dataset_sync_task(self, job_id: str, tenant_id: str) -> None:
    with tenant_scope(tenant_id):
        services.dataset_sync_run(job_id=job_id)


class _DeleteTask(Task):
    def on_failure(self, exc, task_id, args, kwargs, einfo) -> None:
        job_id, tenant_id = args[0], args[1]
        with tenant_scope(tenant_id):
            services.sync_job_failed(job_id=job_id, reason="the deletion stopped; delete the dataset again to finish")


@shared_task(bind=True, base=_DeleteTask, name="datasets.delete", acks_late=True)
def dataset_delete_task(self, job_id: str, tenant_id: str) -> None:
    with tenant_scope(tenant_id):
        services.dataset_delete_run(job_id=job_id)

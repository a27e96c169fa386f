"""Celery entry points of datasets: load by id, call the service, nothing else."""

from __future__ import annotations

from celery import shared_task

from datasets import services
from datasets.export.service import dataset_export_run
from exeml.jobs.tasks import JobTask
from exeml.storage import TransientStorageError
from exeml.tenancy.scoping import tenant_scope


class _SyncTask(JobTask):
    failure_reason = "synchronization failed"


class _ExportTask(JobTask):
    failure_reason = "export failed"


@shared_task(
    bind=True, base=_SyncTask, name="datasets.sync", acks_late=True,
    autoretry_for=(TransientStorageError,), retry_backoff=True, max_retries=3,
)
def dataset_sync_task(self, job_id: str, tenant_id: str) -> None:
    with tenant_scope(tenant_id):
        services.dataset_sync_run(job_id=job_id)


@shared_task(
    bind=True, base=_ExportTask, name="datasets.export", acks_late=True,
    autoretry_for=(TransientStorageError,), retry_backoff=True, max_retries=3,
)
def dataset_export(self, job_id: str, tenant_id: str) -> None:
    with tenant_scope(tenant_id):
        dataset_export_run(job_id=job_id)

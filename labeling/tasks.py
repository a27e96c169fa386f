"""Celery entry points of the labelling area (thin: load by id, call the service)."""

from __future__ import annotations

from celery import shared_task

from exeml.jobs.taskbase import JobTask
from exeml.storage import TransientStorageError
from exeml.tenancy.scoping import tenant_scope


class _ExportTask(JobTask):
    failure_prefix = "the export failed"


@shared_task(
    name="datasets.export", bind=True, base=_ExportTask, acks_late=True, autoretry_for=(TransientStorageError,),
    retry_backoff=True, max_retries=3,
)
def dataset_export(self, job_id: str, tenant_id: str) -> None:
    from datasets.export.service import dataset_export_run

    with tenant_scope(tenant_id):
        dataset_export_run(job_id=job_id)

"""Celery entry points of datasets: load by id, call the service, nothing else."""

from __future__ import annotations

from celery import shared_task

from datasets import services
from datasets.export.service import dataset_export_run
from datasets.upload_import import dataset_upload_run
from datasets.version_jobs import dataset_version_run
from exeml.jobs.taskbase import JobTask
from exeml.storage import TransientStorageError
from exeml.tenancy.scoping import tenant_scope


class _SyncTask(JobTask):
    # Retries exhausted (or a bug before the service could record it): the row says so.
    failure_prefix = "synchronization failed"


class _ExportTask(JobTask):
    failure_prefix = "the export failed"


class _UploadTask(JobTask):
    failure_prefix = "the upload's import failed"


class _VersionTask(JobTask):
    failure_prefix = "the version was not published"


class _DeleteTask(JobTask):
    failure_prefix = "the deletion stopped; delete the dataset again to finish"


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


@shared_task(bind=True, base=_DeleteTask, name="datasets.delete", acks_late=True)
def dataset_delete_task(self, job_id: str, tenant_id: str) -> None:
    with tenant_scope(tenant_id):
        services.dataset_delete_run(job_id=job_id)


# Not retried: a failed import removes the upload's new files, and the answer says why; the
# user uploads again.
@shared_task(bind=True, base=_UploadTask, name="datasets.upload", acks_late=True)
def dataset_upload_task(self, job_id: str, tenant_id: str) -> None:
    with tenant_scope(tenant_id):
        dataset_upload_run(job_id=job_id)


# Not retried: a failed publish rolls its version back and removes its files; the user
# publishes again.
@shared_task(bind=True, base=_VersionTask, name="datasets.version", acks_late=True)
def dataset_version_task(self, job_id: str, tenant_id: str) -> None:
    with tenant_scope(tenant_id):
        dataset_version_run(job_id=job_id)

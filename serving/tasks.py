"""Celery entry points for serving: load by id, call the service, nothing else."""

from __future__ import annotations

from celery import shared_task

from exeml.jobs.taskbase import JobTask
from exeml.tenancy.scoping import tenant_scope
from serving import services


@shared_task(name="serving.deploy_service", acks_late=True)
def deploy_service(service_id: str, tenant_id: str, job_id: str | None = None) -> None:
    with tenant_scope(tenant_id):
        services.service_deploy_run(service_id=service_id, job_id=job_id)


@shared_task(name="serving.autostop_services")
def autostop_services() -> int:
    return services.services_autostop()


@shared_task(name="serving.prelabel", base=JobTask, acks_late=True)
def prelabel(job_id: str, tenant_id: str) -> None:
    from serving.model_jobs import prelabel_run

    with tenant_scope(tenant_id):
        prelabel_run(job_id=job_id)


@shared_task(name="serving.batch_predict", base=JobTask, acks_late=True)
def batch_predict(job_id: str, tenant_id: str) -> None:
    from serving.model_jobs import batch_predict_run

    with tenant_scope(tenant_id):
        batch_predict_run(job_id=job_id)

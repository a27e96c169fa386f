"""Celery entry points of training: thin, ids in, services do the work."""

from __future__ import annotations

from celery import shared_task

from exeml.jobs.taskbase import JobTask
from exeml.tenancy.scoping import tenant_scope


@shared_task(name="training.run_version")
def run_version(version_id: str, tenant_id: str) -> None:
    from training import runner

    with tenant_scope(tenant_id):
        runner.run_version(version_id=version_id)


@shared_task(name="training.reap_stale_versions")
def reap_stale_versions() -> dict[str, int]:
    """Beat: dead or lost trainings and jobs end failed (or are sent again once)."""
    from training import services

    return services.reap_all()


@shared_task(name="training.reap_lost_trainings")
def reap_lost_trainings() -> int:
    """Beat, every few seconds: a training whose worker died goes back to the queue."""
    from training import services

    return len(services.reap_lost_trainings())


@shared_task(name="training.label_check", base=JobTask, acks_late=True)
def label_check(job_id: str, tenant_id: str) -> None:
    from training.label_check import label_check_run

    with tenant_scope(tenant_id):
        label_check_run(job_id=job_id)

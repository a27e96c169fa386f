"""System checks for the distributed shape (run by `exeml migrate` and `manage.py check`):
state that would live only in one host's EXEML_HOME while processes run on several hosts."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.checks import Warning


def _under_home(path: Path) -> bool:
    return Path(path).resolve().is_relative_to(Path(settings.EXEML_HOME).resolve())


def distributed_state(app_configs=None, **kwargs) -> list[Warning]:
    """Several hosts (a broker other than the embedded folder) need every shared byte outside
    EXEML_HOME: objects in S3 (or a folder every host mounts)."""
    broker = settings.CELERY_BROKER_URL
    findings = []
    if broker.startswith("filesystem://"):
        if not settings.EMBEDDED:
            findings.append(Warning(
                "the embedded filesystem broker keeps its queues under EXEML_HOME: only processes sharing "
                "that folder (one host) see each other's tasks",
                hint="for processes on several hosts set CELERY_BROKER_URL to Redis", id="exeml.W002",
            ))
        return findings
    if not settings.EXEML_S3_ENDPOINT_URL and _under_home(settings.EXEML_LOCAL_STORE_ROOT):
        findings.append(Warning(
            f"the object store is a folder under EXEML_HOME ({settings.EXEML_LOCAL_STORE_ROOT}) while the broker "
            "lets processes run on several hosts: each host would see only its own objects",
            hint="set EXEML_S3_ENDPOINT_URL (S3, OBS, MinIO) or EXEML_LOCAL_STORE_ROOT to a folder every host mounts",
            id="exeml.W001",
        ))
    return findings

"""A Job row carries the status and progress of long work (sync, export, deploy).

The API reads the row, never the Celery result backend.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from exeml.tenancy.scoping import TenantOwned


class JobStatus(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


JOB_TRANSITIONS: dict[str, set[str]] = {
    JobStatus.QUEUED: {JobStatus.RUNNING, JobStatus.FAILED, JobStatus.CANCELLED},
    JobStatus.RUNNING: {JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.RUNNING, JobStatus.CANCELLED},
    JobStatus.SUCCEEDED: set(),
    JobStatus.FAILED: {JobStatus.QUEUED},  # a retry
    JobStatus.CANCELLED: set(),
}

MAX_JOB_ERRORS = 1000


class Job(TenantOwned):
    kind = models.CharField(max_length=40)  # "dataset_sync", "dataset_export", "service_deploy", ...
    status = models.CharField(max_length=10, choices=JobStatus.choices, default=JobStatus.QUEUED)
    progress = models.FloatField(default=0.0)
    counts = models.JSONField(default=dict, blank=True)
    # [{"file", "reason"}] (with "skipped": true for a file not of an accepted type), capped at
    # MAX_JOB_ERRORS; counts["errors_total"] has the total.
    errors = models.JSONField(default=list, blank=True)
    params = models.JSONField(default=dict, blank=True)
    result = models.JSONField(default=dict, blank=True)
    detail = models.TextField(blank=True)
    # What the job works on, for listing a dataset's jobs without a join per kind.
    target_type = models.CharField(max_length=40, blank=True)
    target_id = models.UUIDField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # Set by POST /jobs/{id}/cancel; the job's heartbeat thread notices it within a second or two.
    cancel_requested = models.BooleanField(default=False)
    # The start of storage calls that have not answered (or kept failing) since: a retried
    # task carries it on, so a hung storage fails the job after the stall limit overall.
    storage_waiting_since = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["tenant", "target_type", "target_id", "created_at"]),
            models.Index(fields=["tenant", "created_at", "id"], name="job_keyset"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.status}"

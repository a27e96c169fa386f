"""ModelVersion: one training run of a project (V001, V002, ...)."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from exeml.tenancy.scoping import TenantOwned


class VersionStatus(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    STOPPED = "stopped"


class Preference(models.TextChoices):
    PERFORMANCE_FIRST = "performance_first"
    BALANCE = "balance"
    ACCURACY_FIRST = "accuracy_first"



class ModelVersion(TenantOwned):
    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="versions")
    name = models.CharField(max_length=10)  # V001
    number = models.PositiveIntegerField()
    # None only while a training of a large dataset waits for the dataset_version job that
    # publishes its data (params["dataset_version_job"]); the run sets it before it trains.
    dataset_version = models.ForeignKey(
        "datasets.DatasetVersion", on_delete=models.PROTECT, related_name="model_versions", null=True, blank=True
    )
    incremental_from = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    flavor = models.ForeignKey("tenancy.Flavor", on_delete=models.PROTECT, related_name="+")
    queue = models.CharField(max_length=40)
    status = models.CharField(max_length=10, choices=VersionStatus.choices, default=VersionStatus.QUEUED)
    # {"train_ratio", "max_minutes", "preference", "flavor", "incremental_from", ...}
    params = models.JSONField(default=dict)
    phase = models.CharField(max_length=40, blank=True)
    progress = models.FloatField(default=0.0)
    metrics = models.JSONField(default=dict, blank=True)
    evaluation = models.JSONField(default=dict, blank=True)
    # Per-sample predictions on the EVAL split, as the exported ONNX model made them.
    eval_predictions = models.JSONField(default=list, blank=True)
    # While training: {"eta_seconds", "metric", "candidates": [...], "curve": [...]} from the
    # engine's search (training/engine/search.py LiveReport); kept after it finishes.
    live = models.JSONField(default=dict, blank=True)
    artifact_path = models.CharField(max_length=1100, blank=True)  # s3://.../model/V001/ (a folder)
    artifact_size = models.BigIntegerField(default=0)
    error = models.TextField(blank=True)
    stopped_by_deadline = models.BooleanField(default=False)
    stop_requested = models.BooleanField(default=False)
    celery_task_id = models.CharField(max_length=64, blank=True)
    worker = models.CharField(max_length=200, blank=True)  # hostname:pid
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # The training log's first and last lines (training.log_lines), so any web host can serve them
    # while the full train.log lives beside the artifact.
    log_tail = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-number"]
        constraints = [models.UniqueConstraint(fields=["project", "number"], name="uniq_model_version_number")]
        indexes = [models.Index(fields=["status", "heartbeat_at"]), models.Index(fields=["queue", "status"])]

    def __str__(self) -> str:
        return f"{self.project_id}:{self.name}"

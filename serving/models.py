"""Real-time services: a deployed model version, its call counts and latency histograms."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from exeml.tenancy.scoping import TenantOwned


class ServiceStatus(models.TextChoices):
    DEPLOYING = "deploying"
    RUNNING = "running"
    STOPPING = "stopping"
    STOPPED = "stopped"
    FAILED = "failed"


# The only status changes allowed; serving.services.service_transition enforces them.
SERVICE_TRANSITIONS: dict[str, set[str]] = {
    ServiceStatus.DEPLOYING: {ServiceStatus.RUNNING, ServiceStatus.FAILED, ServiceStatus.STOPPING, ServiceStatus.STOPPED},
    ServiceStatus.RUNNING: {ServiceStatus.STOPPING, ServiceStatus.STOPPED, ServiceStatus.FAILED},
    ServiceStatus.STOPPING: {ServiceStatus.STOPPED},
    ServiceStatus.STOPPED: {ServiceStatus.DEPLOYING},
    ServiceStatus.FAILED: {ServiceStatus.DEPLOYING, ServiceStatus.STOPPED},
}
ACTIVE_STATUSES = (ServiceStatus.DEPLOYING, ServiceStatus.RUNNING)


class Service(TenantOwned):
    name = models.CharField(max_length=64)
    model_version = models.ForeignKey("training.ModelVersion", on_delete=models.CASCADE, related_name="services")
    flavor = models.ForeignKey("tenancy.Flavor", on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=10, choices=ServiceStatus.choices, default=ServiceStatus.DEPLOYING)
    auto_stop_enabled = models.BooleanField(default=True)
    auto_stop_hours = models.FloatField(default=1.0)
    # Object detection only: boxes under this score are not returned; null = the model's default.
    confidence_threshold = models.FloatField(null=True, blank=True)
    stop_at = models.DateTimeField(null=True, blank=True)
    # Idle stop: stop after this many minutes without calls (None: off); the clock runs from
    # the later of started_at and last_call_at, which the call recorder writes in batches.
    idle_stop_minutes = models.PositiveIntegerField(null=True, blank=True)
    last_call_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    stopped_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    warning = models.TextField(blank=True)
    invocation_times = models.BigIntegerField(default=0)
    failed_times = models.BigIntegerField(default=0)
    deploy_job = models.ForeignKey("jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "stop_at"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.status})"


class ServiceCallMinute(TenantOwned):
    """Calls of one minute that fell in one latency bucket (serving.latency's scale), with how
    many failed: the last hour's counts and percentiles, at a cost that does not grow with the
    call rate. Pruned after 24 h by the auto-stop beat task."""

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="call_minutes")
    minute = models.DateTimeField()  # the minute's start
    bucket = models.PositiveSmallIntegerField()
    calls = models.BigIntegerField(default=0)
    failures = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["service", "minute", "bucket"], name="uniq_service_call_minute_bucket")
        ]
        indexes = [models.Index(fields=["minute"])]


class ServiceLatencyBucket(TenantOwned):
    """Since-start latency histogram: one row per (service, bucket), incremented with F()."""

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="latency_buckets")
    bucket = models.PositiveSmallIntegerField()  # serving.latency's scale
    count = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["service", "bucket"], name="uniq_service_latency_bucket")]

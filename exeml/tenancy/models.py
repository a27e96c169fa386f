"""Tenants, memberships, API tokens, quotas, flavors and usage."""

from __future__ import annotations

import hashlib
import secrets
import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from exeml.tenancy.roles import Role
from exeml.tenancy.scoping import TenantOwned
from exeml.tenancy.secrets import EncryptedTextField
from exeml.tenancy.tokencache import auth_cache


class Tenant(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    slug = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=120)
    # s3://bucket/prefix/ roots every user-given path must lie under; default
    # s3://<EXEML_BUCKET>/<slug>/ (set by tenant_create).
    storage_roots = models.JSONField(default=list, blank=True)
    s3_endpoint_url = models.CharField(max_length=500, blank=True)
    s3_access_key = models.CharField(max_length=200, blank=True)
    # Encrypted at rest (exeml/tenancy/secrets.py); write-only in the admin, never in the API.
    s3_secret_key = EncryptedTextField(blank=True)
    s3_region = models.CharField(max_length=60, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.slug

    @property
    def default_root(self) -> str:
        return self.storage_roots[0] if self.storage_roots else f"s3://{settings.EXEML_BUCKET}/{self.slug}/"


class Membership(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "tenant"], name="uniq_membership")]

    def __str__(self) -> str:
        return f"{self.user} @ {self.tenant} ({self.role})"


def hash_token(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class ApiToken(models.Model):
    """A token belongs to one user in one tenant; only its hash is stored."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=80, blank=True)
    prefix = models.CharField(max_length=8, db_index=True)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user} @ {self.tenant})"

    @classmethod
    def issue(cls, *, user, tenant: Tenant, name: str = "") -> tuple[ApiToken, str]:
        key = secrets.token_hex(20)
        token = cls.objects.create(user=user, tenant=tenant, name=name, prefix=key[:8], key_hash=hash_token(key))
        return token, key

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def revoke(self) -> None:
        self.revoked_at = timezone.now()
        self.save(update_fields=["revoked_at"])
        auth_cache.forget(self.key_hash)


class Quota(models.Model):
    tenant = models.OneToOneField(Tenant, on_delete=models.CASCADE, related_name="quota")
    max_projects = models.PositiveIntegerField(default=100)
    max_storage_bytes = models.BigIntegerField(default=50 * 1024**3)
    max_concurrent_trainings = models.PositiveIntegerField(default=4)
    max_running_services = models.PositiveIntegerField(default=4)
    max_training_minutes_per_month = models.PositiveIntegerField(default=6000)
    # Pre-labelling, label checks and batch predictions queued or running at once.
    max_concurrent_model_jobs = models.PositiveIntegerField(default=2)
    # Empty: the platform's EXEML_MAX_SAMPLES_PER_DATASET.
    max_samples_per_dataset = models.PositiveIntegerField(
        null=True, blank=True, help_text="Empty: the platform default (EXEML_MAX_SAMPLES_PER_DATASET)."
    )
    max_running_trainings_per_project = models.PositiveIntegerField(
        default=1, help_text="Trainings of one project that may be queued or running at once."
    )

    def __str__(self) -> str:
        return f"quota of {self.tenant}"


class FlavorPurpose(models.TextChoices):
    TRAIN = "train"
    DEPLOY = "deploy"


class Flavor(models.Model):
    code = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=120)
    purpose = models.CharField(max_length=10, choices=FlavorPurpose.choices)
    device = models.CharField(max_length=4, choices=[("cpu", "cpu"), ("gpu", "gpu")])
    queue = models.CharField(max_length=40)
    free = models.BooleanField(default=False)
    max_minutes = models.PositiveIntegerField(null=True, blank=True)
    # Empty list = every task type.
    task_types = models.JSONField(default=list, blank=True)
    price_per_hour = models.DecimalField(max_digits=10, decimal_places=2, default=0)
    active = models.BooleanField(default=True)
    sort_order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["purpose", "sort_order", "code"]

    def __str__(self) -> str:
        return self.name

    def allows(self, task_type: str) -> bool:
        return not self.task_types or task_type in self.task_types


class UsageRecord(TenantOwned):
    resource = models.CharField(max_length=20)  # "training" | "service"
    resource_id = models.UUIDField()
    resource_name = models.CharField(max_length=120, blank=True)
    flavor = models.ForeignKey(Flavor, null=True, on_delete=models.SET_NULL)
    start = models.DateTimeField()
    end = models.DateTimeField(null=True, blank=True)
    minutes = models.FloatField(default=0)

    class Meta:
        ordering = ["-start"]
        indexes = [models.Index(fields=["tenant", "resource", "start"])]

    def __str__(self) -> str:
        return f"{self.resource} {self.resource_name} {self.minutes:.1f} min"

from __future__ import annotations

from django.conf import settings
from django.db import models

from exeml.task_types import TaskType
from exeml.tenancy.scoping import TenantOwned


class LabelType(models.TextChoices):
    DISCRETE = "discrete"
    CONTINUOUS = "continuous"


class Project(TenantOwned):
    name = models.CharField(max_length=20)
    description = models.TextField(blank=True, max_length=500)
    task_type = models.CharField(max_length=30, choices=TaskType.choices)
    dataset = models.ForeignKey("datasets.Dataset", on_delete=models.PROTECT, related_name="projects")
    # Predictive analytics: s3://bucket/folder/file.csv, one project per CSV path.
    training_data = models.CharField(max_length=1024, blank=True)
    label_column = models.CharField(max_length=100, blank=True)  # a header name (made safe) or attr_N
    label_type = models.CharField(max_length=10, choices=LabelType.choices, blank=True)
    # Image classification: may a sample carry several labels? Single-label (False) makes a
    # label key replace the sample's label and trains a softmax model; multi-label toggles
    # labels and trains one sigmoid per label. Sound and text are always single-label,
    # detection labels each box.
    multi_label = models.BooleanField(default=False)
    # Team labeling: train only when every labelled sample's annotations were accepted in review.
    require_review = models.BooleanField(default=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="uniq_project_name_per_tenant")]

    def __str__(self) -> str:
        return self.name

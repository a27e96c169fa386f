"""Labels of a dataset and annotations of samples."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from exeml.tenancy.scoping import TenantOwned


class Label(TenantOwned):
    dataset = models.ForeignKey("datasets.Dataset", on_delete=models.CASCADE, related_name="labels")
    name = models.CharField(max_length=32)
    color = models.CharField(max_length=7, blank=True)  # "#rrggbb"
    shortcut = models.CharField(max_length=1, blank=True)  # sound: keyboard shortcut
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["dataset", "name"], name="uniq_label_name"),
        ]

    def __str__(self) -> str:
        return self.name


class Annotation(TenantOwned):
    """One label on a sample; detection annotations carry a box in image pixels."""

    sample = models.ForeignKey("datasets.Sample", on_delete=models.CASCADE, related_name="annotations")
    label = models.ForeignKey(Label, on_delete=models.CASCADE, related_name="annotations")
    xmin = models.FloatField(null=True, blank=True, db_column="box_xmin")
    ymin = models.FloatField(null=True, blank=True, db_column="box_ymin")
    xmax = models.FloatField(null=True, blank=True, db_column="box_xmax")
    ymax = models.FloatField(null=True, blank=True, db_column="box_ymax")
    annotated_by = models.CharField(max_length=64, default="human")  # or e.g. "modelarts/active-learning"
    confidence = models.FloatField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]
        indexes = [models.Index(fields=["sample"]), models.Index(fields=["label"])]

    def __str__(self) -> str:
        return f"{self.label_id} on {self.sample_id}"

    @property
    def bbox(self) -> list[float] | None:
        if self.xmin is None:
            return None
        return [self.xmin, self.ymin, self.xmax, self.ymax]

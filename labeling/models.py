"""Model-assisted labeling: suggestions for unlabelled samples and suspected label errors.

Labels and annotations themselves are datasets' rows (datasets.models)."""

from __future__ import annotations

from django.db import models

from exeml.tenancy.scoping import TenantOwned


class SuggestionStatus(models.TextChoices):
    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class Suggestion(TenantOwned):
    """A model's prediction for an unlabelled sample, kept apart from human annotations: it
    never counts as labelled until a user accepts it (then it becomes annotations made by
    ``auto``)."""

    dataset = models.ForeignKey("datasets.Dataset", on_delete=models.CASCADE, related_name="suggestions")
    sample = models.ForeignKey("datasets.Sample", on_delete=models.CASCADE, related_name="suggestions")
    # Which model made it: a ModelVersion id and name (no foreign key: labeling sits below training).
    source_id = models.UUIDField()
    source_name = models.CharField(max_length=120)
    # {"labels": ["cat"]} or {"objects": [{"label", "bbox": [xmin, ymin, xmax, ymax], "score"}]}
    payload = models.JSONField(default=dict)
    confidence = models.FloatField()  # of the predicted label; detection: of the most confident box
    # 1 - (top1 - top2) for classification, 1 - best box score for detection: higher = label it first.
    uncertainty = models.FloatField(default=0.0)
    status = models.CharField(max_length=10, choices=SuggestionStatus.choices, default=SuggestionStatus.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-uncertainty", "id"]
        constraints = [models.UniqueConstraint(fields=["sample"], name="uniq_suggestion_per_sample")]
        indexes = [
            models.Index(fields=["dataset", "status", "uncertainty"]),
            # Keyset pages by uncertainty (label-next, the suggestion list): (uncertainty, id) in order.
            models.Index(fields=["dataset", "status", "uncertainty", "id"], name="suggestion_uncertainty_keyset"),
            models.Index(fields=["dataset", "status", "confidence", "id"], name="suggestion_confidence_keyset"),
        ]


class LabelIssueStatus(models.TextChoices):
    OPEN = "open"
    FIXED = "fixed"
    CHECKED = "checked"  # the user looked and kept the given label


class LabelIssue(TenantOwned):
    """A labelled sample whose given label the model confidently disagrees with (confident
    learning over out-of-fold predictions)."""

    dataset = models.ForeignKey("datasets.Dataset", on_delete=models.CASCADE, related_name="label_issues")
    sample = models.ForeignKey("datasets.Sample", on_delete=models.CASCADE, related_name="label_issues")
    job_id = models.UUIDField()
    given_label = models.CharField(max_length=32)
    suggested_label = models.CharField(max_length=32)
    # Out-of-fold probability of the given label (low = suspicious) and of the suggested one.
    given_probability = models.FloatField()
    suggested_probability = models.FloatField()
    rank = models.PositiveIntegerField()  # 1 = most suspicious
    status = models.CharField(max_length=10, choices=LabelIssueStatus.choices, default=LabelIssueStatus.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["rank"]
        constraints = [models.UniqueConstraint(fields=["sample"], name="uniq_label_issue_per_sample")]
        indexes = [
            models.Index(fields=["dataset", "status", "rank"]),
            models.Index(fields=["dataset", "status", "rank", "id"], name="label_issue_keyset"),
        ]

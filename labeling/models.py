"""Model-assisted labeling: suggestions for unlabelled samples and suspected label errors.

Labels and annotations themselves are datasets' rows (datasets.models)."""

from __future__ import annotations

from django.conf import settings
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


class TaskStatus(models.TextChoices):
    OPEN = "open"  # the labeler labels (or fixes what review sent back)
    IN_REVIEW = "in_review"
    DONE = "done"  # every sample accepted
    CANCELLED = "cancelled"


ACTIVE_TASK_STATUSES = (TaskStatus.OPEN, TaskStatus.IN_REVIEW)


class TaskKind(models.TextChoices):
    LABEL = "label"
    # Samples another task also holds, labelled blind a second time to measure agreement.
    OVERLAP = "overlap"


class LabelingTask(TenantOwned):
    """A share of a dataset's samples given to one labeler. While it is open or in review its
    samples carry ``task_id`` and ``assignee`` (datasets.Sample), which is the lock; an overlap
    task's samples carry ``overlap_task_id`` and ``overlap_assignee`` instead."""

    dataset = models.ForeignKey("datasets.Dataset", on_delete=models.CASCADE, related_name="labeling_tasks")
    name = models.CharField(max_length=120)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="labeling_tasks"
    )
    status = models.CharField(max_length=10, choices=TaskStatus.choices, default=TaskStatus.OPEN)
    kind = models.CharField(max_length=10, choices=TaskKind.choices, default=TaskKind.LABEL)
    size = models.PositiveIntegerField(default=0)
    # How many times review sent samples back.
    returned = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["dataset", "status", "created_at"]),
            models.Index(fields=["assignee", "status"]),
        ]

    def __str__(self) -> str:
        return self.name


class TaskItem(TenantOwned):
    """A sample of a task; kept after the task ends (who had which sample)."""

    task = models.ForeignKey(LabelingTask, on_delete=models.CASCADE, related_name="items")
    sample = models.ForeignKey("datasets.Sample", on_delete=models.CASCADE, related_name="+")
    position = models.PositiveIntegerField(default=0)
    # What the labeler gave, kept when the task is submitted: {"labels", "objects"}; the
    # agreement is computed from these.
    answer = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["position"]
        constraints = [models.UniqueConstraint(fields=["task", "sample"], name="uniq_task_item")]
        indexes = [models.Index(fields=["sample"])]


class AnnotationEvent(TenantOwned):
    """One change of a sample's annotations: who, when, before → after. Append-only: rows are
    only ever inserted (``save`` refuses an update; no API writes or deletes them)."""

    dataset = models.ForeignKey("datasets.Dataset", on_delete=models.CASCADE, related_name="+")
    sample = models.ForeignKey("datasets.Sample", on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # A snapshot: the history reads the same after the account is gone.
    username = models.CharField(max_length=150, blank=True)
    # "human", a model's name (accepted suggestion), "review".
    source = models.CharField(max_length=64, default="human")
    action = models.CharField(max_length=20)  # set | batch | accept | reject | label_delete | label_rename
    before = models.JSONField(default=dict)
    after = models.JSONField(default=dict)
    comment = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["sample", "created_at"]),
            models.Index(fields=["dataset", "user", "created_at"]),
        ]

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise ValueError("annotation events are append-only")
        super().save(*args, **kwargs)

"""Shapes of the team-labeling API: tasks, review decisions, history, activity."""

from __future__ import annotations

from rest_framework import serializers

from labeling.models import AnnotationEvent, LabelingTask
from labeling.tasks import MAX_OVERLAP, MAX_TASK_SIZE, ORDERS, ReviewDecision


class TaskProgressSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    labeled = serializers.IntegerField()
    accepted = serializers.IntegerField()
    rejected = serializers.IntegerField()


class LabelingTaskSerializer(serializers.ModelSerializer):
    assignee = serializers.SerializerMethodField()
    progress = serializers.SerializerMethodField()

    class Meta:
        model = LabelingTask
        fields = [
            "id", "dataset", "name", "kind", "assignee", "status", "size", "returned", "progress",
            "created_at", "submitted_at", "finished_at",
        ]
        read_only_fields = fields

    def get_assignee(self, obj) -> str | None:
        return obj.assignee.username if obj.assignee_id else None

    def get_progress(self, obj) -> TaskProgressSerializer:
        return (self.context.get("progress") or {}).get(obj.pk) or {"total": obj.size, "labeled": 0, "accepted": 0,
                                                                      "rejected": 0}


class TaskCreateSerializer(serializers.Serializer):
    assignees = serializers.ListField(child=serializers.CharField(max_length=150), allow_empty=False, max_length=100)
    per_task = serializers.IntegerField(required=False, min_value=1, max_value=MAX_TASK_SIZE)
    by_folder = serializers.BooleanField(required=False, default=False)
    order = serializers.ChoiceField(choices=list(ORDERS), required=False, default="source")
    max_samples = serializers.IntegerField(required=False, min_value=1)
    name = serializers.CharField(max_length=80, required=False, allow_blank=True, default="")
    overlap = serializers.FloatField(
        required=False, default=0.0, min_value=0.0, max_value=MAX_OVERLAP,
        help_text="fraction of the samples a second labeler also labels, blind, in an overlap task "
        "(agreement); needs two assignees or more",
    )


class TaskUpdateSerializer(serializers.Serializer):
    assignee = serializers.CharField(max_length=150, required=False)
    name = serializers.CharField(max_length=120, required=False)


class ReviewItemSerializer(serializers.Serializer):
    sample_id = serializers.UUIDField()
    decision = serializers.ChoiceField(choices=list(ReviewDecision.ALL))
    comment = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class ReviewSerializer(serializers.Serializer):
    decisions = serializers.ListField(child=ReviewItemSerializer(), allow_empty=False, max_length=1000)


class AnnotationEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = AnnotationEvent
        fields = ["id", "username", "source", "action", "before", "after", "comment", "created_at"]
        read_only_fields = fields


class ActivitySerializer(serializers.Serializer):
    username = serializers.CharField()
    samples_labeled = serializers.IntegerField()
    per_day = serializers.ListField(child=serializers.DictField())
    reviewed = serializers.IntegerField()
    accepted = serializers.IntegerField()
    rejected = serializers.IntegerField()
    acceptance_rate = serializers.FloatField(allow_null=True)
    median_seconds_per_sample = serializers.FloatField(allow_null=True)


class AgreementSerializer(serializers.Serializer):
    """Agreement figures: ``samples``, ``exact`` (share identical), ``kappa`` (classification),
    ``f1`` (detection, IoU >= 0.5), ``labels`` (per label)."""

    between_labelers = serializers.DictField()
    pairs = serializers.ListField(child=serializers.DictField())
    with_reviewed = serializers.ListField(child=serializers.DictField())

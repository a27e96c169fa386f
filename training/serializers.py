"""Input and output shapes of the training API."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from training.models import ModelVersion, Preference


class TrainRequestSerializer(serializers.Serializer):
    dataset_version = serializers.UUIDField(required=False, allow_null=True)
    train_ratio = serializers.FloatField(required=False, default=0.8)
    incremental_from = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=40)
    max_minutes = serializers.FloatField(required=False, default=60)
    preference = serializers.ChoiceField(choices=Preference.values, required=False, default=Preference.BALANCE)
    flavor = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=60)
    refit_on_all = serializers.BooleanField(
        required=False,
        default=True,
        help_text="Refit the selected model on all labelled rows (TRAIN + EVAL) for serving; the evaluation "
        "stays the one of the model fitted on TRAIN. false serves the evaluated model itself.",
    )


class TrainCheckSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    reasons = serializers.ListField(child=serializers.CharField())


class VersionLogsSerializer(serializers.Serializer):
    lines = serializers.ListField(child=serializers.CharField())


class _Ref(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()


class ModelVersionSerializer(serializers.ModelSerializer):
    # null while the data of a large dataset is being published (params.dataset_version_job)
    dataset_version = _Ref(read_only=True, allow_null=True)
    incremental_from = serializers.SerializerMethodField()
    flavor = serializers.SlugRelatedField(slug_field="code", read_only=True)
    queue_position = serializers.SerializerMethodField()
    project = serializers.UUIDField(source="project_id", read_only=True)

    class Meta:
        model = ModelVersion
        fields = [
            "id", "name", "project", "status", "progress", "phase", "queue_position", "params", "metrics",
            "evaluation", "stopped_by_deadline", "stop_requested", "started_at", "finished_at", "created_at",
            "error", "dataset_version", "flavor", "artifact_path", "artifact_size", "incremental_from",
        ]
        read_only_fields = fields

    @extend_schema_field(_Ref(allow_null=True))
    def get_incremental_from(self, obj: ModelVersion) -> dict | None:
        base = obj.incremental_from
        return {"id": str(base.pk), "name": base.name} if base else None

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_queue_position(self, obj: ModelVersion) -> int | None:
        return self.context.get("queue_positions", {}).get(obj.pk)


class ModelVersionDetailSerializer(ModelVersionSerializer):
    """Detail adds the search's live report (leaderboard, score curve, ETA) and the per-sample
    eval predictions when asked (?include=eval_predictions)."""

    eval_predictions = serializers.SerializerMethodField()

    class Meta(ModelVersionSerializer.Meta):
        fields = [*ModelVersionSerializer.Meta.fields, "live", "eval_predictions"]
        read_only_fields = fields

    @extend_schema_field(serializers.ListField(child=serializers.DictField(), allow_null=True))
    def get_eval_predictions(self, obj: ModelVersion) -> list | None:
        return obj.eval_predictions if self.context.get("include_eval_predictions") else None

    def to_representation(self, instance):
        data = super().to_representation(instance)
        if not self.context.get("include_eval_predictions"):
            data.pop("eval_predictions", None)
        return data

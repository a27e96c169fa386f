"""Input and output shapes of the project API."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from exeml.task_types import TaskType
from projects.models import LabelType, Project
from projects.selectors import project_status, version_summaries


class _LabelInSerializer(serializers.Serializer):
    name = serializers.CharField()
    color = serializers.CharField(required=False, help_text="hex; required for detection and text labels")


class ProjectDatasetInSerializer(serializers.Serializer):
    """Schema of ``dataset``: {"source": "create", name, paths, labels} or {"source": "specify", "id"}."""

    source = serializers.ChoiceField(choices=["create", "specify"])
    id = serializers.UUIDField(required=False, help_text="specify: an existing dataset of the same type")
    name = serializers.CharField(required=False)
    input_path = serializers.CharField(required=False)
    output_path = serializers.CharField(required=False)
    labels = _LabelInSerializer(many=True, required=False)


@extend_schema_field(ProjectDatasetInSerializer)
class _DatasetChoiceField(serializers.JSONField):
    """Kept a JSONField so projects.services reports each rule on its dotted field (dataset.id, ...)."""


class ProjectCreateSerializer(serializers.Serializer):
    """Shape only; every rule is checked by projects.services.project_create."""

    name = serializers.CharField(allow_blank=True)
    description = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)
    type = serializers.ChoiceField(choices=TaskType.choices)
    dataset = _DatasetChoiceField(required=False)
    training_data = serializers.CharField(required=False, allow_blank=True)
    multi_label = serializers.BooleanField(
        required=False, allow_null=True, default=None,
        help_text="image classification: may a sample carry several labels (default false: a label replaces "
        "the sample's label)",
    )


class ProjectUpdateSerializer(serializers.Serializer):
    description = serializers.CharField(required=False, allow_blank=True, max_length=500)
    multi_label = serializers.BooleanField(
        required=False, help_text="single-label only while no sample carries several labels (else 409)"
    )
    label_column = serializers.CharField(required=False)
    label_type = serializers.ChoiceField(choices=LabelType.choices, required=False)
    require_review = serializers.BooleanField(
        required=False, help_text="train only when every labelled sample was accepted in review (team labeling)"
    )


class DatasetSummarySerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    type = serializers.CharField(source="task_type")
    input_path = serializers.CharField()
    output_path = serializers.CharField()
    csv_path = serializers.CharField()


class ProjectSerializer(serializers.ModelSerializer):
    type = serializers.CharField(source="task_type")
    status = serializers.SerializerMethodField()
    dataset = DatasetSummarySerializer(read_only=True)

    class Meta:
        model = Project
        fields = [
            "id", "name", "description", "type", "status", "dataset", "training_data", "label_column",
            "label_type", "multi_label", "require_review", "created_at", "updated_at",
        ]
        read_only_fields = fields

    def get_status(self, obj) -> str:
        return project_status(getattr(obj, "latest_version_status", None))


class VersionSummarySerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField(help_text="V001, V002, …")
    status = serializers.CharField()


class DatasetCountsSerializer(serializers.Serializer):
    sample_count = serializers.IntegerField()
    labeled_count = serializers.IntegerField()
    unlabeled_count = serializers.IntegerField()
    missing_count = serializers.IntegerField()


class ProjectDetailSerializer(ProjectSerializer):
    versions = serializers.SerializerMethodField()
    dataset_counts = serializers.SerializerMethodField()

    class Meta(ProjectSerializer.Meta):
        fields = [*ProjectSerializer.Meta.fields, "versions", "dataset_counts"]
        read_only_fields = fields

    @extend_schema_field(VersionSummarySerializer(many=True))
    def get_versions(self, obj) -> list[dict]:
        return version_summaries(project=obj)

    @extend_schema_field(DatasetCountsSerializer)
    def get_dataset_counts(self, obj) -> dict:
        counts = self.context.get("dataset_counts") or {}
        return counts

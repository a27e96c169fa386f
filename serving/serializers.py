"""Input/output shapes of services and models."""

from __future__ import annotations

import json

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from exeml.task_types import TaskType
from serving.models import Service
from serving.services import idle_stop_at
from training.models import ModelVersion

_EXAMPLE_BODIES = {
    TaskType.IMAGE_CLASSIFICATION: "-F 'images=@/path/to/image.jpg'",
    TaskType.OBJECT_DETECTION: "-F 'images=@/path/to/image.jpg'",
    TaskType.SOUND_CLASSIFICATION: "-F 'files=@/path/to/sound.wav'",
    TaskType.TEXT_CLASSIFICATION: "-H 'Content-Type: application/json' -d '"
    + json.dumps({"text": "the text to classify"})
    + "'",
}


def api_example(task_type: str, url: str, record: dict[str, str] | None = None) -> str:
    """A curl command calling the service, with a body of the service's type."""
    body = _EXAMPLE_BODIES.get(task_type)
    if body is None:
        record = record or {"attr_1": "value", "attr_2": "value"}
        body = "-H 'Content-Type: application/json' -d '" + json.dumps(
            {"data": {"count": 1, "req_data": [record]}}
        ) + "'"
    return f"curl -X POST '{url}' -H 'X-Auth-Token: <your token>' {body}"


def infer_url(request, service_id) -> str:
    path = reverse("serving-infer", kwargs={"service_id": service_id})
    return request.build_absolute_uri(path) if request is not None else path


class ModelRefSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()


class AutoStopSerializer(serializers.Serializer):
    enabled = serializers.BooleanField(default=True)
    hours = serializers.FloatField(default=1.0)
    idle_minutes = serializers.IntegerField(
        allow_null=True, required=False,
        help_text="stop after this many minutes without calls (null: off); independent of enabled/hours",
    )
    idle_stop_at = serializers.DateTimeField(
        allow_null=True, read_only=True, help_text="when the idle stop happens if no call comes first"
    )


class ServiceSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()
    flavor = serializers.SlugRelatedField(slug_field="code", read_only=True)
    model = serializers.SerializerMethodField()
    project_id = serializers.UUIDField(source="model_version.project_id", read_only=True)
    version_id = serializers.UUIDField(source="model_version_id", read_only=True)
    task_type = serializers.CharField(source="model_version.project.task_type", read_only=True)
    auto_stop = serializers.SerializerMethodField()
    api_example = serializers.SerializerMethodField()
    deploy_job = serializers.UUIDField(source="deploy_job_id", read_only=True)

    class Meta:
        model = Service
        fields = [
            "id", "name", "status", "url", "stop_at", "flavor", "model", "project_id", "version_id",
            "task_type", "invocation_times", "failed_times", "created_at", "started_at", "stopped_at",
            "error", "warning", "auto_stop", "api_example", "deploy_job", "last_call_at",
            "confidence_threshold",
        ]
        read_only_fields = fields

    def get_url(self, obj: Service) -> str:
        return infer_url(self.context.get("request"), obj.pk)

    @extend_schema_field(ModelRefSerializer)
    def get_model(self, obj: Service) -> dict:
        version = obj.model_version
        return {"id": str(version.pk), "name": f"{version.project.name}-{version.name}"}

    @extend_schema_field(AutoStopSerializer)
    def get_auto_stop(self, obj: Service) -> dict:
        idle_at = idle_stop_at(obj)
        return {
            "enabled": obj.auto_stop_enabled,
            "hours": obj.auto_stop_hours,
            "idle_minutes": obj.idle_stop_minutes,
            "idle_stop_at": serializers.DateTimeField().to_representation(idle_at) if idle_at else None,
        }

    def get_api_example(self, obj: Service) -> str:
        project = obj.model_version.project
        record = None
        if project.task_type == TaskType.PREDICTIVE_ANALYTICS:
            record = example_record(project)
        return api_example(project.task_type, self.get_url(obj), record)


def example_record(project) -> dict[str, str] | None:
    """A req_data record from the dataset's profile: its feature columns, first preview row's values."""
    profile = getattr(project.dataset, "table_profile", None) or {}
    columns = [c.get("name") for c in profile.get("columns") or [] if isinstance(c, dict)]
    if not columns or not all(isinstance(c, str) for c in columns):
        return None
    preview = profile.get("preview_rows") or []
    first = preview[0] if preview and isinstance(preview[0], list | tuple) else []
    values = {name: str(first[i]) if i < len(first) else "value" for i, name in enumerate(columns)}
    return {name: value for name, value in values.items() if name != project.label_column}


@extend_schema_field(AutoStopSerializer)
class _AutoStopField(serializers.JSONField):
    """Validated by serving.services.auto_stop_parse (1/2/4/6 h or a custom 1–24 h) and
    idle_minutes_parse, which report every mistake on the ``auto_stop`` field."""


@extend_schema_field({"type": "number", "minimum": 0, "maximum": 1, "nullable": True})
class _ConfidenceField(serializers.JSONField):
    """Validated by serving.services.confidence_threshold_parse (object detection only, 0..1),
    which reports every mistake on the ``confidence_threshold`` field."""


_CONFIDENCE_HELP = "object detection: boxes scoring under it are not returned; null = the model's default"


class DeploySerializer(serializers.Serializer):
    flavor = serializers.CharField(required=False, allow_blank=True, allow_null=True)
    name = serializers.CharField(required=False, allow_blank=True, max_length=64)
    auto_stop = _AutoStopField(required=False, allow_null=True)
    confidence_threshold = _ConfidenceField(required=False, allow_null=True, help_text=_CONFIDENCE_HELP)


class StartSerializer(serializers.Serializer):
    auto_stop = _AutoStopField(required=False, allow_null=True)
    confidence_threshold = _ConfidenceField(required=False, allow_null=True, help_text=_CONFIDENCE_HELP)


class LatencySerializer(serializers.Serializer):
    p50 = serializers.FloatField(allow_null=True)
    p95 = serializers.FloatField(allow_null=True)
    p99 = serializers.FloatField(allow_null=True)


class WindowMetricsSerializer(serializers.Serializer):
    calls = serializers.IntegerField()
    errors = serializers.IntegerField(help_text="failed calls")
    failures = serializers.IntegerField(help_text="the same as errors")
    latency_ms = LatencySerializer()


class ServiceMetricsSerializer(WindowMetricsSerializer):
    last_hour = WindowMetricsSerializer()


class ModelSerializer(serializers.ModelSerializer):
    """A completed version as model management lists it: "<project>-V001"."""

    name = serializers.SerializerMethodField()
    task_type = serializers.CharField(source="project.task_type", read_only=True)
    size_bytes = serializers.IntegerField(source="artifact_size", read_only=True)
    version_id = serializers.UUIDField(source="id", read_only=True)
    version = serializers.CharField(source="name", read_only=True)

    class Meta:
        model = ModelVersion
        fields = [
            "id", "name", "task_type", "metrics", "size_bytes", "project_id", "version_id", "version",
            "created_at", "finished_at",
        ]
        read_only_fields = fields

    def get_name(self, obj: ModelVersion) -> str:
        return f"{obj.project.name}-{obj.name}"

"""Input and output shapes of the dataset API."""

from __future__ import annotations

from django.urls import reverse
from rest_framework import serializers

from datasets.models import Dataset, DatasetVersion, Sample
from datasets.versioning import MAX_SEED
from exeml.jobs.serializers import JobBriefSerializer
from exeml.task_types import TaskType


class LabelInSerializer(serializers.Serializer):
    name = serializers.CharField()
    color = serializers.CharField(required=False, allow_blank=True)


class DatasetCreateSerializer(serializers.Serializer):
    """Shape only; the rules (paths, names, colors) are checked by datasets.services."""

    name = serializers.CharField()
    type = serializers.ChoiceField(choices=TaskType.choices)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    input_path = serializers.CharField(required=False, allow_blank=True)
    output_path = serializers.CharField(required=False, allow_blank=True)
    csv_path = serializers.CharField(required=False, allow_blank=True)
    labels = LabelInSerializer(many=True, required=False)


class DatasetSerializer(serializers.ModelSerializer):
    type = serializers.CharField(source="task_type")
    sample_count = serializers.SerializerMethodField()
    labeled_count = serializers.SerializerMethodField()
    unlabeled_count = serializers.SerializerMethodField()
    missing_count = serializers.SerializerMethodField()
    last_sync_job = JobBriefSerializer(read_only=True)

    class Meta:
        model = Dataset
        fields = [
            "id", "name", "description", "type", "input_path", "output_path", "csv_path", "storage_bytes",
            "sample_count", "labeled_count", "unlabeled_count", "missing_count", "last_sync_job", "created_at",
        ]
        read_only_fields = fields

    # Counts come annotated by datasets.selectors.dataset_list (one query for the whole page).
    def get_sample_count(self, obj) -> int:
        return getattr(obj, "sample_count", 0)

    def get_labeled_count(self, obj) -> int:
        return getattr(obj, "labeled_count", 0)

    def get_unlabeled_count(self, obj) -> int:
        return getattr(obj, "sample_count", 0) - getattr(obj, "labeled_count", 0)

    def get_missing_count(self, obj) -> int:
        return getattr(obj, "missing_count", 0)


class SampleSerializer(serializers.ModelSerializer):
    """One sample, its text whole (``text_truncated`` false)."""

    labels = serializers.SerializerMethodField()
    objects = serializers.SerializerMethodField()
    content_url = serializers.SerializerMethodField()
    text_length = serializers.SerializerMethodField(help_text="characters of the whole text")
    text_truncated = serializers.SerializerMethodField(
        help_text="true when ``text`` is a preview: the sample's own endpoint has the whole text"
    )

    class Meta:
        model = Sample
        fields = [
            "id", "name", "source", "status", "labeled", "revision", "labels", "objects", "width", "height",
            "format", "duration", "sample_rate", "channels", "bit_depth", "text", "text_length", "text_truncated",
            "line_number", "label_reason", "content_url", "created_at", "task", "assignee", "review",
        ]
        read_only_fields = fields

    labeled = serializers.SerializerMethodField()
    task = serializers.UUIDField(source="task_id", read_only=True, allow_null=True,
                                 help_text="the open labeling task holding the sample (team labeling)")
    assignee = serializers.SerializerMethodField(help_text="who holds the sample while its task is open")
    review = serializers.SerializerMethodField(help_text="review of the current annotations: status '' (not "
                                               "reviewed), accepted or rejected; comment; by; at")

    def get_assignee(self, obj) -> str | None:
        return obj.assignee.username if obj.assignee_id else None

    def get_review(self, obj) -> dict:
        return {
            "status": obj.review_status, "comment": obj.review_comment,
            "by": obj.reviewed_by.username if obj.reviewed_by_id else None, "at": obj.reviewed_at,
        }

    def get_text_length(self, obj) -> int:
        return len(obj.text)

    def get_text_truncated(self, obj) -> bool:
        return False

    def _blind_answer(self, obj) -> dict | None:
        """The overlap labeler's own answer when they are the one reading (context ``viewer_id``):
        they label blind, so they see what they gave, not the first labeler's annotations."""
        viewer = self.context.get("viewer_id")
        if viewer is None or obj.overlap_assignee_id != viewer or obj.assignee_id == viewer:
            return None
        return obj.overlap_answer or {"labels": []}

    def get_labeled(self, obj) -> bool:
        answer = self._blind_answer(obj)
        return obj.labeled if answer is None else bool(answer.get("labels"))

    # annotations (with labels) are prefetched by datasets.selectors.sample_list.
    def get_labels(self, obj) -> list[str]:
        answer = self._blind_answer(obj)
        if answer is not None:
            return list(answer.get("labels") or [])
        return list(dict.fromkeys(a.label.name for a in obj.annotations.all()))

    def get_objects(self, obj) -> list[dict]:
        answer = self._blind_answer(obj)
        if answer is not None:
            return list(answer.get("objects") or [])
        return [{"label": a.label.name, "bbox": a.bbox} for a in obj.annotations.all() if a.xmin is not None]

    def get_content_url(self, obj) -> str:
        return reverse("datasets:dataset-sample-content", kwargs={"pk": obj.dataset_id, "sample_id": obj.pk})


class SampleRowSerializer(SampleSerializer):
    """A row of a sample list: ``text`` is at most its first 500 characters (the queryset comes
    from datasets.selectors.with_text_preview, which never reads the rest)."""

    text = serializers.CharField(source="text_preview", read_only=True)

    class Meta(SampleSerializer.Meta):
        pass

    def get_text_length(self, obj) -> int:
        return obj.text_chars or 0

    def get_text_truncated(self, obj) -> bool:
        return (obj.text_chars or 0) > len(obj.text_preview or "")


class SamplesDeleteSerializer(serializers.Serializer):
    ids = serializers.ListField(child=serializers.UUIDField(), allow_empty=False, max_length=10000)
    delete_source = serializers.BooleanField(default=False)


class UploadSerializer(serializers.Serializer):
    files = serializers.ListField(child=serializers.FileField())


class UploadResultSerializer(serializers.Serializer):
    accepted = serializers.ListField(child=serializers.DictField())
    rejected = serializers.ListField(child=serializers.DictField())


class SamplesDeleteResultSerializer(serializers.Serializer):
    deleted = serializers.IntegerField()
    files_deleted = serializers.IntegerField()


class PreviewColumnSerializer(serializers.Serializer):
    name = serializers.CharField(help_text="the header's name (made safe), or attr_N without a header")
    key = serializers.CharField(help_text="attr_N: always accepted in place of the name (ModelArts)")
    index = serializers.IntegerField()
    kind = serializers.CharField()
    distinct = serializers.IntegerField()
    missing_share = serializers.FloatField()
    valid = serializers.BooleanField()
    reason = serializers.CharField(allow_blank=True, allow_null=True)
    sample_values = serializers.ListField(child=serializers.CharField())
    digits_only = serializers.BooleanField()


class PreviewStatsSerializer(serializers.Serializer):
    rows = serializers.IntegerField()
    valid_rows = serializers.IntegerField()
    distinct_rows = serializers.IntegerField()


class PreviewDialectSerializer(serializers.Serializer):
    delimiter = serializers.CharField(help_text="one of , ; tab |")
    quotechar = serializers.CharField()
    has_header = serializers.BooleanField()
    header_source = serializers.ChoiceField(choices=["detected", "user"])
    has_header_override = serializers.BooleanField(allow_null=True)


class PreviewSerializer(serializers.Serializer):
    """Schema of the predictive analytics preview."""

    csv_path = serializers.CharField()
    columns = PreviewColumnSerializer(many=True)
    rows = serializers.ListField(child=serializers.ListField(child=serializers.CharField()))
    stats = PreviewStatsSerializer()
    dialect = PreviewDialectSerializer()


class TableSettingsSerializer(serializers.Serializer):
    has_header = serializers.BooleanField(
        allow_null=True, help_text="true: the first row is a header; false: it is data; null: detect"
    )


class DatasetVersionSerializer(serializers.ModelSerializer):
    class Meta:
        model = DatasetVersion
        fields = [
            "id", "dataset", "name", "number", "train_ratio", "seed", "manifest_path", "counts", "params",
            "created_at",
        ]
        read_only_fields = fields


class VersionPublishSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False, allow_blank=True, allow_null=True)
    # Every number's range is checked here, so that nothing out of range reaches the database
    # (seed 10**23 was a 500 after the manifest was written).
    train_ratio = serializers.FloatField(required=False, default=0.8)
    seed = serializers.IntegerField(required=False, default=0, min_value=0, max_value=MAX_SEED)
    label_column = serializers.CharField(max_length=100, required=False, allow_null=True)
    label_type = serializers.CharField(max_length=10, required=False, allow_null=True)

    def validate_train_ratio(self, value: float) -> float:
        if not 0 < value < 1:
            raise serializers.ValidationError("must be greater than 0 and less than 1")
        return value


class ExportCreateSerializer(serializers.Serializer):
    version = serializers.UUIDField(required=False, allow_null=True)
    format = serializers.ChoiceField(choices=["voc", "coco", "yolo", "folders", "manifest"])
    target = serializers.ChoiceField(choices=["storage", "zip"], default="zip")
    path = serializers.CharField(max_length=1100, required=False, allow_blank=True)

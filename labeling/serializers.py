"""Input and output shapes of the labelling API; ``sample_representation`` is the one
sample JSON (same shape as the samples API) returned after every annotation change."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch
from rest_framework import serializers

from datasets.models import Annotation, Label, Sample
from labeling.services import MAX_BOXES_PER_SAMPLE, MAX_LABELS_PER_REQUEST


def sample_representation(sample: Sample, viewer_id=None) -> dict[str, Any]:
    """The sample exactly as the samples API shows it (datasets' SampleSerializer): labels,
    boxes, revision. Uses prefetched ``annotations`` when present, else reads them."""
    from datasets.serializers import SampleSerializer

    if "annotations" not in getattr(sample, "_prefetched_objects_cache", {}):
        sample = Sample.objects.filter(pk=sample.pk).prefetch_related(
            Prefetch("annotations", queryset=Annotation.objects.select_related("label").order_by("created_at", "id"))
        ).get()
    return dict(SampleSerializer(sample, context={"viewer_id": viewer_id}).data)


class LabelSerializer(serializers.ModelSerializer):
    count = serializers.IntegerField(read_only=True, default=0)

    class Meta:
        model = Label
        fields = ["id", "name", "color", "shortcut", "count", "created_at"]
        read_only_fields = fields


class LabelCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    color = serializers.CharField(max_length=20, required=False, allow_blank=True, default="")
    shortcut = serializers.CharField(max_length=10, required=False, allow_blank=True, default="")


class LabelUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False)
    color = serializers.CharField(max_length=20, required=False, allow_blank=True)
    shortcut = serializers.CharField(max_length=10, required=False, allow_blank=True)


class LabelDeleteResultSerializer(serializers.Serializer):
    label = serializers.CharField()
    mode = serializers.CharField()
    annotations_deleted = serializers.IntegerField()
    samples_deleted = serializers.IntegerField()
    files_deleted = serializers.ListField(child=serializers.CharField())
    files_kept = serializers.ListField(child=serializers.DictField())
    storage_errors = serializers.ListField(child=serializers.DictField())


class BoxObjectSerializer(serializers.Serializer):
    label = serializers.CharField(max_length=200)
    bbox = serializers.ListField(child=serializers.FloatField(), min_length=4, max_length=4)


class AnnotationsPutSerializer(serializers.Serializer):
    # Bounds checked again by labeling.services; here they stop a huge list before per-item validation.
    labels = serializers.ListField(child=serializers.CharField(max_length=200), required=False,
                                   max_length=MAX_LABELS_PER_REQUEST)
    objects = serializers.ListField(child=BoxObjectSerializer(), required=False, max_length=MAX_BOXES_PER_SAMPLE)


class BatchSerializer(serializers.Serializer):
    sample_ids = serializers.ListField(child=serializers.UUIDField(), allow_empty=False)
    add = serializers.ListField(child=serializers.CharField(max_length=200), required=False, default=list)
    remove = serializers.ListField(child=serializers.CharField(max_length=200), required=False, default=list)


class BatchResultSerializer(serializers.Serializer):
    updated = serializers.IntegerField()
    samples = serializers.ListField(child=serializers.DictField())


class SampleAnnotationsSerializer(serializers.Serializer):
    """Schema only: the dict built by :func:`sample_representation`."""

    id = serializers.UUIDField()
    name = serializers.CharField()
    source = serializers.CharField()
    status = serializers.CharField()
    labeled = serializers.BooleanField()
    revision = serializers.IntegerField()
    labels = serializers.ListField(child=serializers.CharField())
    objects = serializers.ListField(child=serializers.DictField())


class LabelStatsSerializer(serializers.Serializer):
    labels = serializers.ListField(child=serializers.DictField())
    labeled = serializers.IntegerField()
    unlabeled = serializers.IntegerField()
    train_ready = serializers.DictField()

"""Shapes of the model-assisted labeling API (suggestions, label-next, label issues)."""

from __future__ import annotations

from rest_framework import serializers

from labeling.models import LabelIssue, Suggestion


class _SampleBrief(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    text = serializers.CharField()


def _brief(sample) -> dict:
    # Texts are cut: a list page must not carry whole documents.
    return {"id": str(sample.pk), "name": sample.name, "text": (sample.text or "")[:200]}


class SuggestionSerializer(serializers.ModelSerializer):
    sample = serializers.SerializerMethodField()
    source = serializers.SerializerMethodField()

    class Meta:
        model = Suggestion
        fields = ["id", "sample", "source", "payload", "confidence", "uncertainty", "status", "created_at", "decided_at"]
        read_only_fields = fields

    def get_sample(self, obj) -> _SampleBrief:
        return _brief(obj.sample)

    def get_source(self, obj) -> dict:
        return {"version_id": str(obj.source_id), "version": obj.source_name}


class SuggestionDecisionSerializer(serializers.Serializer):
    ids = serializers.ListField(child=serializers.UUIDField(), required=False, max_length=10000)
    min_confidence = serializers.FloatField(required=False, min_value=0.0, max_value=1.0)


class SuggestionDecisionResultSerializer(serializers.Serializer):
    accepted = serializers.IntegerField(required=False)
    skipped = serializers.IntegerField(required=False)
    rejected = serializers.IntegerField(required=False)


class LabelNextSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    text = serializers.SerializerMethodField()
    uncertainty = serializers.FloatField(allow_null=True)

    def get_text(self, obj) -> str:
        return (obj.text or "")[:200]


class LabelIssueSerializer(serializers.ModelSerializer):
    sample = serializers.SerializerMethodField()

    class Meta:
        model = LabelIssue
        fields = [
            "id", "sample", "given_label", "suggested_label", "given_probability", "suggested_probability", "rank",
            "status", "job_id", "created_at",
        ]
        read_only_fields = fields

    def get_sample(self, obj) -> _SampleBrief:
        return _brief(obj.sample)


class LabelIssueResolveSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=["fix", "checked"])
    label = serializers.CharField(required=False, max_length=32)

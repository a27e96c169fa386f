from rest_framework import serializers

from exeml.jobs.models import Job


class JobSerializer(serializers.ModelSerializer):
    class Meta:
        model = Job
        fields = [
            "id", "kind", "status", "progress", "counts", "errors", "detail", "result",
            "target_type", "target_id", "cancel_requested", "created_at", "started_at", "finished_at",
        ]
        read_only_fields = fields

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


class JobBriefSerializer(JobSerializer):
    """A job nested in another resource's list (a dataset's last sync): its first few errors only.

    A job keeps up to 1,000 errors; nesting them all in every row of a list would make a page of
    datasets megabytes. ``counts.errors_total`` says how many there are, ``GET /jobs/{id}`` lists them.
    """

    NESTED_ERRORS = 5

    errors = serializers.SerializerMethodField()

    def get_errors(self, obj: Job) -> list:
        return list(obj.errors or [])[: self.NESTED_ERRORS]

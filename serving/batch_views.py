"""A batch prediction's results in the console: the first rows, and the file as a download."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from exeml.api.streaming import attachment
from exeml.api.views import TenantAPIView
from exeml.errors import ApplicationError
from exeml.jobs.models import Job
from serving import batch_results
from serving.model_jobs import BATCH_KIND


class BatchResultsSerializer(serializers.Serializer):
    path = serializers.CharField(help_text="the result file in storage")
    name = serializers.CharField()
    outputs = serializers.ListField(child=serializers.CharField(),
                                    help_text="the job's result files (a table batch writes one per input CSV; "
                                              "the first 100); pass one as ?file=")
    outputs_truncated = serializers.BooleanField()
    format = serializers.ChoiceField(choices=["csv", "jsonl"])
    columns = serializers.ListField(child=serializers.CharField(), allow_null=True,
                                    help_text="the CSV header (csv); null for jsonl")
    rows = serializers.ListField(child=serializers.JSONField(),
                                 help_text="csv: lists of cells; jsonl: one object per file (per line for texts)")
    truncated = serializers.BooleanField(help_text="the file holds more results than listed")
    files = serializers.IntegerField(allow_null=True)
    succeeded = serializers.IntegerField(allow_null=True)
    failed = serializers.IntegerField(allow_null=True)


_FILE = OpenApiParameter("file", str, description="one of the job's result files (`outputs`); default the first")


def _job(job_id) -> Job:
    # Job.objects is the tenant's: another tenant's job is a 404.
    return get_object_or_404(Job.objects, pk=job_id, kind=BATCH_KIND)


def _limit(raw: str | None) -> int:
    if raw in (None, ""):
        return 20
    try:
        value = int(raw)
    except ValueError:
        raise ApplicationError("must be a whole number", field="limit")
    if not 1 <= value <= batch_results.PREVIEW_MAX_ROWS:
        raise ApplicationError(f"must be between 1 and {batch_results.PREVIEW_MAX_ROWS}", field="limit")
    return value


class BatchResultsView(TenantAPIView):
    serializer_class = BatchResultsSerializer

    @extend_schema(
        parameters=[OpenApiParameter("limit", int, description="how many results (1-200, default 20)"), _FILE],
        responses={200: BatchResultsSerializer},
    )
    def get(self, request, job_id):
        """The first results of a succeeded batch prediction (409 before it succeeded)."""
        preview = batch_results.batch_result_preview(job=_job(job_id), limit=_limit(request.query_params.get("limit")),
                                                     file=request.query_params.get("file") or None)
        return Response(BatchResultsSerializer(preview).data)


class BatchResultsDownloadView(TenantAPIView):
    @extend_schema(parameters=[_FILE], responses={(200, "application/octet-stream"): OpenApiTypes.BINARY})
    def get(self, request, job_id):
        """A whole result file (results.jsonl, or a table's <name>_predictions.csv), streamed from storage."""
        path, fh = batch_results.batch_result_open(job=_job(job_id), file=request.query_params.get("file") or None)
        content_type = "text/csv" if path.key.endswith(".csv") else "application/x-ndjson"
        return attachment(fh, filename=path.key.rsplit("/", 1)[-1], content_type=content_type)

"""Start pre-labelling and batch-prediction jobs with a trained version (202 + the job)."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from exeml.api.views import TenantAPIView
from exeml.jobs.serializers import JobSerializer
from projects.models import Project
from serving import model_jobs
from serving.views import _version_of


class BatchPredictSerializer(serializers.Serializer):
    input_path = serializers.CharField(max_length=1024, help_text="a storage folder (or one file) to predict")
    output_path = serializers.CharField(max_length=1024, help_text="a storage folder for results.jsonl / predictions.csv")


class PrelabelView(TenantAPIView):
    """Run the version over the dataset's unlabelled samples; results become suggestions."""

    @extend_schema(request=None, responses={202: JobSerializer})
    def post(self, request, project_id, version):
        project = get_object_or_404(Project.objects, pk=project_id)
        job = model_jobs.prelabel_start(version=_version_of(project, version), user=request.user)
        return Response(JobSerializer(job).data, status=status.HTTP_202_ACCEPTED)


class BatchPredictView(TenantAPIView):
    serializer_class = BatchPredictSerializer

    @extend_schema(request=BatchPredictSerializer, responses={202: JobSerializer})
    def post(self, request, project_id, version):
        project = get_object_or_404(Project.objects, pk=project_id)
        model_version = _version_of(project, version)
        data = BatchPredictSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        job = model_jobs.batch_predict_start(version=model_version, user=request.user, **data.validated_data)
        return Response(JobSerializer(job).data, status=status.HTTP_202_ACCEPTED)

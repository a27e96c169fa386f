"""Training API: train, train-check, versions (list, detail, stop, logs), label checks."""

from __future__ import annotations

from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response

from datasets.models import Dataset
from exeml.api.views import TenantAPIView, TenantModelViewSet
from exeml.jobs.serializers import JobSerializer
from projects.models import Project
from training import preconditions, selectors, services
from training.label_check import label_check_start
from training.models import ModelVersion
from training.serializers import (
    ModelVersionDetailSerializer,
    ModelVersionSerializer,
    TrainCheckSerializer,
    TrainRequestSerializer,
    VersionLogsSerializer,
)


def _project(project_id) -> Project:
    return get_object_or_404(Project.objects.select_related("dataset"), pk=project_id)


def _version_data(version: ModelVersion) -> dict:
    positions = selectors.queue_positions(versions=[version])
    return ModelVersionSerializer(version, context={"queue_positions": positions}).data


class TrainView(TenantAPIView):
    @extend_schema(request=TrainRequestSerializer, responses={202: ModelVersionSerializer})
    def post(self, request, project_id):
        project = _project(project_id)
        body = TrainRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        version = services.version_create(
            project=project,
            user=request.user,
            dataset_version_id=data.get("dataset_version"),
            train_ratio=data["train_ratio"],
            incremental_from=data.get("incremental_from") or None,
            max_minutes=data["max_minutes"],
            preference=data["preference"],
            flavor=data.get("flavor") or None,
        )
        return Response(_version_data(version), status=status.HTTP_202_ACCEPTED)


class TrainCheckView(TenantAPIView):
    @extend_schema(
        parameters=[OpenApiParameter("flavor", str, description="flavor code to check (default CPU flavor)")],
        responses=TrainCheckSerializer,
    )
    def get(self, request, project_id):
        project = _project(project_id)
        reasons = preconditions.train_reasons(
            project=project, tenant=request.tenant, flavor_code=request.query_params.get("flavor") or None
        )
        return Response({"ok": not reasons, "reasons": reasons})


class ModelVersionViewSet(mixins.ListModelMixin, TenantModelViewSet):
    serializer_class = ModelVersionSerializer
    lookup_url_kwarg = "version"

    def safely_get_queryset(self):
        return selectors.version_list(project=_project(self.kwargs["project_id"]))

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "queue_positions": getattr(self, "_positions", {})}

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        self._positions = selectors.queue_positions(versions=page if page is not None else queryset)
        return page

    def _version(self) -> ModelVersion:
        project = _project(self.kwargs["project_id"])
        version = services.version_lookup(project=project, ref=self.kwargs["version"])
        if version is None:
            raise Http404
        return version

    @extend_schema(
        parameters=[OpenApiParameter("include", str, description="eval_predictions to add the per-sample predictions")],
        responses=ModelVersionDetailSerializer,
    )
    def retrieve(self, request, *args, **kwargs):
        version = self._version()
        context = {
            **self.get_serializer_context(),
            "queue_positions": selectors.queue_positions(versions=[version]),
            "include_eval_predictions": "eval_predictions" in request.query_params.get("include", "").split(","),
        }
        return Response(ModelVersionDetailSerializer(version, context=context).data)

    @extend_schema(request=None, responses=ModelVersionSerializer)
    @action(detail=True, methods=["post"])
    def stop(self, request, *args, **kwargs):
        version = services.version_stop(version=self._version())
        return Response(_version_data(version))

    @extend_schema(responses=VersionLogsSerializer)
    @action(detail=True, methods=["get"])
    def logs(self, request, *args, **kwargs):
        return Response({"lines": list(self._version().log_tail)})


class LabelCheckView(TenantAPIView):
    """Start the suspected-label-errors job over a dataset's labelled samples."""

    @extend_schema(request=None, responses={202: JobSerializer})
    def post(self, request, dataset_id):
        dataset = get_object_or_404(Dataset.objects, pk=dataset_id)
        job = label_check_start(dataset=dataset, user=request.user)
        return Response(JobSerializer(job).data, status=status.HTTP_202_ACCEPTED)

"""Services (deploy, start, stop, delete, metrics) and model management."""

from __future__ import annotations

import uuid

from django.http import FileResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response

from exeml.api.permissions import MANAGE
from exeml.api.views import TenantAPIView, TenantModelViewSet, TenantReadOnlyViewSet
from projects.models import Project
from serving import selectors, services
from serving.download import model_zip
from serving.serializers import (
    DeploySerializer,
    ModelSerializer,
    ServiceMetricsSerializer,
    ServiceSerializer,
    StartSerializer,
)
from training.models import ModelVersion


def _version_of(project: Project, version: str) -> ModelVersion:
    """``{v}`` is the version's id or its name (V001)."""
    versions = ModelVersion.objects.filter(project=project)
    try:
        return get_object_or_404(versions, pk=uuid.UUID(version))
    except ValueError:
        return get_object_or_404(versions, name__iexact=version)


class DeployView(TenantAPIView):
    serializer_class = DeploySerializer

    @extend_schema(request=DeploySerializer, responses={202: ServiceSerializer})
    def post(self, request, project_id, version):
        project = get_object_or_404(Project.objects, pk=project_id)
        model_version = _version_of(project, version)
        data = DeploySerializer(data=request.data)
        data.is_valid(raise_exception=True)
        service = services.service_deploy(
            version=model_version,
            user=request.user,
            flavor_code=data.validated_data.get("flavor") or None,
            auto_stop=data.validated_data.get("auto_stop"),
            name=data.validated_data.get("name") or None,
            confidence_threshold=data.validated_data.get("confidence_threshold"),
        )
        service = selectors.service_list().get(pk=service.pk)
        return Response(ServiceSerializer(service, context={"request": request}).data, status=status.HTTP_202_ACCEPTED)


@extend_schema(parameters=[OpenApiParameter("project", str, description="only this project's services")])
class ServiceViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, TenantModelViewSet):
    serializer_class = ServiceSerializer

    def safely_get_queryset(self):
        return selectors.service_list(project_id=self.request.query_params.get("project") or None)

    def perform_destroy(self, instance) -> None:
        services.service_delete(service=instance)

    def _answer(self, service, code=status.HTTP_200_OK) -> Response:
        service = selectors.service_list().get(pk=service.pk)
        return Response(self.get_serializer(service).data, status=code)

    @extend_schema(request=StartSerializer, responses={202: ServiceSerializer})
    @action(detail=True, methods=["post"])
    def start(self, request, pk=None):
        data = StartSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        service = services.service_start(
            service=self.get_object(),
            user=request.user,
            auto_stop=data.validated_data.get("auto_stop"),
            confidence_threshold=data.validated_data.get("confidence_threshold"),
        )
        return self._answer(service, status.HTTP_202_ACCEPTED)

    @extend_schema(request=None, responses={200: ServiceSerializer})
    @action(detail=True, methods=["post"])
    def stop(self, request, pk=None):
        service = services.service_stop(service_id=self.get_object().pk)
        return self._answer(service)

    @extend_schema(responses={200: ServiceMetricsSerializer})
    @action(detail=True, methods=["get"])
    def metrics(self, request, pk=None):
        return Response(selectors.service_metrics(service=self.get_object()))


@extend_schema(parameters=[OpenApiParameter("project", str, description="only this project's models")])
class ModelViewSet(TenantReadOnlyViewSet):
    serializer_class = ModelSerializer
    capabilities = {"download": MANAGE}

    def safely_get_queryset(self):
        return selectors.model_list(project_id=self.request.query_params.get("project") or None)

    @extend_schema(responses={(200, "application/zip"): OpenApiResponse(description="the ONNX bundle as a zip")})
    @action(detail=True, methods=["get"])
    def download(self, request, pk=None):
        version = self.get_object()
        handle = model_zip(version=version)
        filename = f"{version.project.name}-{version.name}.zip"
        return FileResponse(handle, as_attachment=True, filename=filename, content_type="application/zip")

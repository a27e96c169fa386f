"""Project API: list/create/read/update/delete."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status
from rest_framework.response import Response

from datasets.selectors import dataset_list
from exeml.api.views import TenantModelViewSet
from projects import selectors, services
from projects.serializers import (
    ProjectCreateSerializer,
    ProjectDetailSerializer,
    ProjectSerializer,
    ProjectUpdateSerializer,
)


class ProjectViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, mixins.DestroyModelMixin,
    TenantModelViewSet,
):
    serializer_class = ProjectSerializer
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def safely_get_queryset(self):
        params = self.request.query_params
        return selectors.project_list(search=params.get("search"), task_type=params.get("type"))

    def get_serializer_class(self):
        return ProjectSerializer if self.action == "list" else ProjectDetailSerializer

    def _detail(self, project) -> dict:
        ds = dataset_list().filter(pk=project.dataset_id).first()
        counts = {}
        if ds is not None:
            counts = {"sample_count": ds.sample_count, "labeled_count": ds.labeled_count,
                      "unlabeled_count": ds.sample_count - ds.labeled_count, "missing_count": ds.missing_count}
        return ProjectDetailSerializer(project, context={"dataset_counts": counts}).data

    @extend_schema(parameters=[OpenApiParameter("search", str), OpenApiParameter("type", str)])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    def retrieve(self, request, *args, **kwargs):
        return Response(self._detail(self.get_object()))

    @extend_schema(request=ProjectCreateSerializer, responses={201: ProjectDetailSerializer})
    def create(self, request, *args, **kwargs):
        shape = ProjectCreateSerializer(data=request.data)
        shape.is_valid(raise_exception=True)
        data = shape.validated_data
        project = services.project_create(
            tenant=request.tenant, user=request.user, name=data["name"], task_type=data["type"],
            description=data.get("description", ""), dataset=data.get("dataset"),
            training_data=data.get("training_data"), multi_label=data.get("multi_label"),
        )
        project = selectors.project_list().get(pk=project.pk)
        return Response(self._detail(project), status=status.HTTP_201_CREATED)

    @extend_schema(request=ProjectUpdateSerializer, responses={200: ProjectDetailSerializer})
    def partial_update(self, request, *args, **kwargs):
        project = self.get_object()
        shape = ProjectUpdateSerializer(data=request.data)
        shape.is_valid(raise_exception=True)
        services.project_update(project=project, **shape.validated_data)
        project = selectors.project_list().get(pk=project.pk)
        return Response(self._detail(project))

    def perform_destroy(self, instance):
        services.project_delete(project=instance)

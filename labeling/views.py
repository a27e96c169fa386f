"""Labelling API: labels, annotations, dataset versions, exports and label statistics."""

from __future__ import annotations

from django.db import transaction
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response

from datasets.models import Dataset, DatasetVersion
from exeml.api.pagination import CatalogPagination, PageNumberPagination, page_of
from exeml.api.views import TenantAPIView
from exeml.errors import ApplicationError
from exeml.jobs.models import Job
from exeml.jobs.serializers import JobSerializer
from exeml.storage import StorageError, parse_storage_path, store_for_tenant
from exeml.task_types import TaskType
from labeling import selectors, services, stats
from labeling.serializers import (
    AnnotationsPutSerializer,
    BatchResultSerializer,
    BatchSerializer,
    DatasetVersionSerializer,
    ExportCreateSerializer,
    LabelCreateSerializer,
    LabelDeleteResultSerializer,
    LabelSerializer,
    LabelStatsSerializer,
    LabelUpdateSerializer,
    SampleAnnotationsSerializer,
    VersionPublishSerializer,
    sample_representation,
)


class DatasetScopedView(TenantAPIView):
    """Resolves the dataset of the URL through the tenant-scoped manager (404 otherwise)."""

    _dataset: Dataset | None = None

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        # Before any body validation: another tenant's dataset is 404, never a 400.
        self._dataset = get_object_or_404(Dataset.objects, pk=self.kwargs["dataset_id"])

    def dataset(self) -> Dataset:
        if self._dataset is None:
            self._dataset = get_object_or_404(Dataset.objects, pk=self.kwargs["dataset_id"])
        return self._dataset


class LabelListView(DatasetScopedView):
    serializer_class = LabelSerializer
    pagination_class = CatalogPagination

    @extend_schema(responses=page_of(LabelSerializer))
    def get(self, request, dataset_id):
        # Evaluated first: paging a list costs no COUNT query (one query for the labels and counts).
        labels = list(selectors.label_list(dataset=self.dataset()))
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(labels, request, view=self)
        return paginator.get_paginated_response(LabelSerializer(page, many=True).data)

    @extend_schema(request=LabelCreateSerializer, responses={201: LabelSerializer})
    def post(self, request, dataset_id):
        data = LabelCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        label = services.label_create(dataset=self.dataset(), **data.validated_data)
        label.count = 0
        return Response(LabelSerializer(label).data, status=status.HTTP_201_CREATED)


class LabelDetailView(DatasetScopedView):
    serializer_class = LabelSerializer

    @extend_schema(request=LabelUpdateSerializer, responses=LabelSerializer)
    def patch(self, request, dataset_id, name):
        data = LabelUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        dataset = self.dataset()
        label = services.label_update(
            dataset=dataset, name=name, new_name=v.get("name"), color=v.get("color"), shortcut=v.get("shortcut")
        )
        row = selectors.label_list(dataset=dataset).get(pk=label.pk)
        return Response(LabelSerializer(row).data)

    @extend_schema(
        parameters=[OpenApiParameter("mode", str, enum=list(services.DeleteMode.ALL), default="label_only")],
        responses=LabelDeleteResultSerializer,
    )
    def delete(self, request, dataset_id, name):
        mode = request.query_params.get("mode", services.DeleteMode.LABEL_ONLY)
        result = services.label_delete(dataset=self.dataset(), name=name, mode=mode)
        return Response(result)


class SampleAnnotationsView(DatasetScopedView):
    serializer_class = SampleAnnotationsSerializer

    @extend_schema(responses=SampleAnnotationsSerializer)
    def get(self, request, dataset_id, sample_id):
        sample = get_object_or_404(
            selectors.samples_with_annotations(dataset=self.dataset(), ids=[sample_id])
        )
        return _with_etag(Response(sample_representation(sample)), sample.revision)

    @extend_schema(
        request=AnnotationsPutSerializer,
        parameters=[OpenApiParameter("If-Match", str, OpenApiParameter.HEADER, required=False)],
        responses={200: SampleAnnotationsSerializer, 409: OpenApiResponse(description="stale revision")},
    )
    def put(self, request, dataset_id, sample_id):
        data = AnnotationsPutSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        dataset = self.dataset()
        if "labels" not in v and "objects" not in v:
            field = "objects" if dataset.task_type == TaskType.OBJECT_DETECTION else "labels"
            raise ApplicationError("this field is required (an empty list unlabels the sample)", field=field)
        sample = services.sample_annotations_set(
            dataset=dataset,
            sample_id=sample_id,
            labels=v.get("labels"),
            objects=[{"label": o["label"], "bbox": list(o["bbox"])} for o in v.get("objects", [])],
            expected_revision=services.parse_if_match(request.headers.get("If-Match")),
            user=request.user,
        )
        return _with_etag(Response(sample_representation(sample)), sample.revision)


def _with_etag(response: Response, revision: int) -> Response:
    response["ETag"] = f'"{revision}"'
    return response


class AnnotationBatchView(DatasetScopedView):
    serializer_class = BatchSerializer

    @extend_schema(request=BatchSerializer, responses=BatchResultSerializer)
    def post(self, request, dataset_id):
        data = BatchSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        dataset = self.dataset()
        ids = services.annotations_batch(
            dataset=dataset, sample_ids=v["sample_ids"], add=v["add"], remove=v["remove"], user=request.user
        )
        samples = selectors.samples_with_annotations(dataset=dataset, ids=ids)
        return Response({
            "updated": len(ids),
            "samples": [sample_representation(s) for s in samples],
        })


class VersionListView(DatasetScopedView):
    serializer_class = DatasetVersionSerializer
    pagination_class = PageNumberPagination

    @extend_schema(responses=page_of(DatasetVersionSerializer), operation_id="api_v1_datasets_versions_list")
    def get(self, request, dataset_id):
        qs = DatasetVersion.objects.filter(dataset=self.dataset()).order_by("-number")
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(DatasetVersionSerializer(page, many=True).data)

    @extend_schema(request=VersionPublishSerializer, responses={201: DatasetVersionSerializer})
    def post(self, request, dataset_id):
        from datasets.versioning import dataset_version_publish

        data = VersionPublishSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        dataset = self.dataset()
        label_column, label_type = v.get("label_column"), v.get("label_type")
        if dataset.task_type == TaskType.PREDICTIVE_ANALYTICS and not label_column:
            from projects.models import Project

            project = Project.objects.filter(dataset=dataset).order_by("-created_at").first()
            if project is not None:
                label_column, label_type = project.label_column or None, project.label_type or None
        version = dataset_version_publish(
            dataset=dataset, train_ratio=v["train_ratio"], name=v.get("name") or None, seed=v["seed"],
            user=request.user, label_column=label_column, label_type=label_type,
        )
        return Response(DatasetVersionSerializer(version).data, status=status.HTTP_201_CREATED)


class VersionDetailView(DatasetScopedView):
    serializer_class = DatasetVersionSerializer

    @extend_schema(responses=DatasetVersionSerializer)
    def get(self, request, dataset_id, version_id):
        version = get_object_or_404(DatasetVersion.objects, dataset=self.dataset(), pk=version_id)
        return Response(DatasetVersionSerializer(version).data)


class ExportListView(DatasetScopedView):
    serializer_class = JobSerializer
    pagination_class = PageNumberPagination

    @extend_schema(responses=page_of(JobSerializer))
    def get(self, request, dataset_id):
        from datasets.export.service import EXPORT_JOB_KIND

        jobs = Job.objects.filter(kind=EXPORT_JOB_KIND, target_type="dataset", target_id=self.dataset().pk)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(jobs.order_by("-created_at"), request, view=self)
        return paginator.get_paginated_response(JobSerializer(page, many=True).data)

    @extend_schema(request=ExportCreateSerializer, responses={202: JobSerializer})
    def post(self, request, dataset_id):
        from datasets.export.service import dataset_export_start

        data = ExportCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        with transaction.atomic():
            job = dataset_export_start(
                dataset=self.dataset(), version_id=v.get("version"), fmt=v["format"], target=v["target"],
                path=v.get("path") or None, user=request.user,
            )
        return Response(JobSerializer(job).data, status=status.HTTP_202_ACCEPTED)


class ExportDownloadView(DatasetScopedView):
    serializer_class = JobSerializer

    @extend_schema(responses={(200, "application/zip"): OpenApiTypes.BINARY})
    def get(self, request, dataset_id, job_id):
        from datasets.export.service import EXPORT_JOB_KIND

        job = get_object_or_404(
            Job.objects, pk=job_id, kind=EXPORT_JOB_KIND, target_type="dataset", target_id=self.dataset().pk
        )
        zip_uri = (job.result or {}).get("zip")
        if job.status != "succeeded" or not zip_uri:
            raise ApplicationError("the export has no zip to download (yet)", code="wrong_state", status=409,
                                   extra={"status": job.status})
        path = parse_storage_path(zip_uri)
        store = store_for_tenant(request.tenant)
        try:
            fh = store.open(path.bucket, path.key)
        except StorageError:
            raise ApplicationError("the export file is gone from storage", code="not_found", status=404)
        response = StreamingHttpResponse(_chunks(fh), content_type="application/zip")
        response["Content-Disposition"] = f'attachment; filename="{path.name}"'
        return response


def _chunks(fh, size: int = 1024 * 1024):
    try:
        while chunk := fh.read(size):
            yield chunk
    finally:
        fh.close()


class LabelStatsView(DatasetScopedView):
    serializer_class = LabelStatsSerializer

    @extend_schema(responses=LabelStatsSerializer)
    def get(self, request, dataset_id):
        return Response(stats.label_stats(dataset=self.dataset()))

"""Dataset API: datasets, synchronization, samples, upload, content, preview, versions, exports."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import transaction
from django.http import FileResponse, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response

from datasets import selectors, services
from datasets.export.service import EXPORT_JOB_KIND, dataset_export_start, dataset_export_zip
from datasets.importing.table import profile_from_json
from datasets.models import Dataset, DatasetVersion, Sample
from datasets.parsers import RawNameMultiPartParser
from datasets.serializers import (
    DatasetCreateSerializer,
    DatasetSerializer,
    DatasetVersionSerializer,
    ExportCreateSerializer,
    PreviewSerializer,
    SampleRowSerializer,
    SamplesDeleteResultSerializer,
    SamplesDeleteSerializer,
    SampleSerializer,
    TableSettingsSerializer,
    UploadResultSerializer,
    UploadSerializer,
    VersionPublishSerializer,
)
from datasets.upload import IncomingFile, samples_upload
from datasets.version_jobs import dataset_version_create
from exeml.api.cursor import CURSOR_PARAMETERS, CursorPagination, cursor_page_of
from exeml.api.pagination import PageNumberPagination, page_of
from exeml.api.parsers import SafeJSONParser
from exeml.api.streaming import attachment
from exeml.api.views import TenantAPIView, TenantModelViewSet
from exeml.errors import ApplicationError, WrongState
from exeml.jobs.models import Job
from exeml.jobs.serializers import JobSerializer
from exeml.storage import parse_storage_path, store_for_tenant
from exeml.task_types import TaskType
from exeml.tenancy.models import Membership

_SAMPLE_ID = r"(?P<sample_id>[0-9a-fA-F-]{36})"


def _bool_param(value: str | None, name: str) -> bool | None:
    if value in (None, ""):
        return None
    if value.lower() in ("true", "1", "yes"):
        return True
    if value.lower() in ("false", "0", "no"):
        return False
    raise ApplicationError("expected true or false", field=name)


def _team_filters(request, params) -> dict:
    """``?task=`` and ``?assignee=`` (a username, or ``me``) of the samples list."""
    out: dict = {}
    if params.get("task"):
        try:
            out["task"] = uuid.UUID(params["task"])
        except ValueError:
            raise ApplicationError("task must be a task id", field="task")
    assignee = params.get("assignee")
    if assignee:
        if assignee == "me":
            out["assignee_id"] = request.user.pk
        else:
            member = Membership.objects.filter(tenant=request.tenant, user__username=assignee).values_list(
                "user_id", flat=True
            ).first()
            if member is None:
                raise ApplicationError(f"{assignee!r} is not a member of this tenant", field="assignee")
            out["assignee_id"] = member
    return out


class DatasetViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, mixins.DestroyModelMixin,
    TenantModelViewSet,
):
    serializer_class = DatasetSerializer
    parser_classes = [SafeJSONParser, RawNameMultiPartParser]

    def safely_get_queryset(self):
        params = self.request.query_params
        return selectors.dataset_list(task_type=params.get("type"), search=params.get("search"))

    def _dataset(self) -> Dataset:
        # Scoped manager: another tenant's id is a 404.
        return get_object_or_404(Dataset.objects.select_related("tenant", "last_sync_job"), pk=self.kwargs["pk"])

    def _sample(self, dataset: Dataset, sample_id: str) -> Sample:
        return get_object_or_404(selectors.sample_list(dataset=dataset, status=""), pk=sample_id)

    @extend_schema(request=DatasetCreateSerializer, responses={201: DatasetSerializer})
    def create(self, request, *args, **kwargs):
        shape = DatasetCreateSerializer(data=request.data)
        shape.is_valid(raise_exception=True)
        data = shape.validated_data
        dataset = services.dataset_create(
            tenant=request.tenant, user=request.user, name=data["name"], task_type=data["type"],
            description=data.get("description", ""), input_path=data.get("input_path"),
            output_path=data.get("output_path"), csv_path=data.get("csv_path"), labels=data.get("labels"),
        )
        dataset = selectors.dataset_list().get(pk=dataset.pk)
        return Response(DatasetSerializer(dataset).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={204: None, 202: JobSerializer})
    def destroy(self, request, *args, **kwargs):
        # A large dataset is deleted by a job, in batches: 202 with the job to follow.
        job = services.dataset_delete(dataset=self._dataset(), user=request.user)
        if job is not None:
            return Response(JobSerializer(job).data, status=status.HTTP_202_ACCEPTED)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses={202: JobSerializer})
    @action(detail=True, methods=["post"])
    def sync(self, request, pk=None):
        job = services.dataset_sync_start(dataset=self._dataset(), user=request.user)
        return Response(JobSerializer(job).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        methods=["GET"],
        parameters=[
            OpenApiParameter("labeled", bool), OpenApiParameter("label", str),
            OpenApiParameter("status", str, description="ok (default) | missing | all"),
            OpenApiParameter("task", str, description="only the samples an open labeling task holds"),
            OpenApiParameter("assignee", str, description="only samples held by this member ('me': yourself)"),
            *CURSOR_PARAMETERS,
        ],
        responses={200: cursor_page_of(SampleRowSerializer)},
        operation_id="api_v1_datasets_samples_list",
        description="Pages by cursor: follow next/previous (page=N is a compatibility path whose cost grows "
        "with N). Text samples carry a preview of their text (text_truncated, text_length); "
        "GET samples/{sample_id} has the whole text.",
    )
    @extend_schema(
        methods=["POST"],
        request={"multipart/form-data": UploadSerializer},
        description="Add files. A small upload (at most 20 files, 1 MiB and 1,000 rows, a text file's "
        "lines counting one row each; EXEML_UPLOAD_INLINE) is imported within the request: 201. A larger "
        "one is checked (names, types, sizes), stored, and answered 202 with an import job at once. "
        "Every refused file is named with its reason; a refused file is never kept.",
        responses={
            201: UploadResultSerializer,
            202: OpenApiResponse(
                JobSerializer,
                description="a larger upload, stored and imported by a worker: the dataset_upload job to follow "
                "(GET /jobs/{id}); its result has {accepted, rejected} when it ends, its errors each refused "
                "file with the reason; it fails when no file is accepted (nothing kept) and can be cancelled",
            ),
            400: OpenApiResponse(
                description="no file accepted: {files: [summary], accepted: [], rejected: [{file, reason}]}"
            ),
        },
    )
    @action(detail=True, methods=["get", "post"], serializer_class=SampleSerializer)
    def samples(self, request, pk=None):
        dataset = self._dataset()
        if request.method == "POST":
            return self._upload(request, dataset)
        params = request.query_params
        wanted_status = params.get("status")
        filters = {
            "labeled": _bool_param(params.get("labeled"), "labeled"),
            "label": params.get("label") or None,
            "status": "" if wanted_status == "all" else wanted_status or None,
        }
        team = _team_filters(request, params)
        qs = selectors.sample_list(dataset=dataset, **filters, **team)
        # Keyset pages over (source, line_number), unique per dataset; the count from the counters
        # (a task's or assignee's samples are counted by the paginator, capped).
        paginator = CursorPagination(
            unique=True,
            count=None if team else lambda _qs: selectors.sample_list_count(dataset=dataset, **filters),
        )
        page = paginator.paginate_queryset(selectors.with_text_preview(qs), request, view=self)
        return paginator.get_paginated_response(SampleRowSerializer(page, many=True, context={"viewer_id": request.user.pk}).data)

    def _upload(self, request, dataset: Dataset) -> Response:
        limit = int(settings.EXEML_LIMITS["upload_request_max_bytes"])
        # Refuse an oversized body before parsing it (multipart framing gets some slack).
        if int(request.META.get("CONTENT_LENGTH") or 0) > limit + 64 * 1024:
            raise ApplicationError(f"the upload is larger than the {limit // (1024 * 1024)} MB allowed per request",
                                   code="too_large", status=413)
        uploaded = request.FILES.getlist("files")
        files = [IncomingFile(name=getattr(f, "raw_name", f.name), size=f.size, read=f.read) for f in uploaded]
        result = samples_upload(dataset=dataset, files=files, user=request.user)
        if isinstance(result, Job):  # a large upload: stored, imported by a worker
            return Response(JobSerializer(result).data, status=status.HTTP_202_ACCEPTED)
        return Response(result, status=status.HTTP_201_CREATED)

    @extend_schema(methods=["GET"], responses={200: SampleSerializer})
    @extend_schema(methods=["DELETE"], responses={204: None})
    @action(detail=True, methods=["get", "delete"], url_path=f"samples/{_SAMPLE_ID}", url_name="sample",
            serializer_class=SampleSerializer)
    def sample(self, request, pk=None, sample_id=None):
        dataset = self._dataset()
        sample = self._sample(dataset, sample_id)
        if request.method == "DELETE":
            services.samples_delete(dataset=dataset, ids=[sample.pk])
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(SampleSerializer(sample, context={"viewer_id": request.user.pk}).data)

    @extend_schema(responses={(200, "application/octet-stream"): bytes, 302: None})
    @action(detail=True, methods=["get"], url_path=f"samples/{_SAMPLE_ID}/content", url_name="sample-content")
    def sample_content(self, request, pk=None, sample_id=None):
        dataset = self._dataset()
        sample = self._sample(dataset, sample_id)
        if dataset.task_type == TaskType.TEXT_CLASSIFICATION:
            return HttpResponse(sample.text, content_type="text/plain; charset=utf-8")
        path = parse_storage_path(sample.source)
        store = store_for_tenant(dataset.tenant)
        url = store.presigned_get_url(path.bucket, path.key, expires=600)
        if url:
            return HttpResponseRedirect(url)
        return FileResponse(store.open(path.bucket, path.key), filename=sample.name)

    @extend_schema(request=SamplesDeleteSerializer, responses={200: SamplesDeleteResultSerializer})
    @action(detail=True, methods=["post"], url_path="samples/delete", url_name="samples-delete",
            serializer_class=SamplesDeleteSerializer)
    def samples_delete(self, request, pk=None):
        dataset = self._dataset()
        shape = SamplesDeleteSerializer(data=request.data)
        shape.is_valid(raise_exception=True)
        result = services.samples_delete(
            dataset=dataset, ids=shape.validated_data["ids"], delete_source=shape.validated_data["delete_source"]
        )
        return Response(result)

    @extend_schema(responses={200: PreviewSerializer})
    @action(detail=True, methods=["get"])
    def preview(self, request, pk=None):
        return Response(_preview(self._dataset()))

    @extend_schema(
        request=TableSettingsSerializer,
        responses={200: PreviewSerializer},
        description="Override the CSV's header detection (has_header true/false; null detects again). The CSV "
        "is re-profiled at once: 400 with the reason when it cannot be used so, nothing changed. The answer is "
        "the new preview; sync_job is the synchronization started when the last one had refused the file.",
    )
    @action(detail=True, methods=["patch"], url_path="table")
    def table(self, request, pk=None):
        dataset = self._dataset()
        shape = TableSettingsSerializer(data=request.data)
        shape.is_valid(raise_exception=True)
        job = services.dataset_table_settings(
            dataset=dataset, has_header=shape.validated_data["has_header"], user=request.user
        )
        return Response({**_preview(dataset), "sync_job": JobSerializer(job).data if job else None})


def _preview(dataset: Dataset) -> dict:
    """The profile of a predictive-analytics dataset, or a 409 whose ``status`` says why there
    is none (no_csv, syncing, csv_invalid, not_synced) and whose message says what to do."""
    if dataset.task_type != TaskType.PREDICTIVE_ANALYTICS:
        raise ApplicationError("preview is for predictive analytics datasets", code="wrong_type")
    profile = profile_from_json(dataset.table_profile)
    if profile is None:
        state, reason = services.table_state(dataset)
        raise WrongState(reason, status_value=state)
    return {
        "csv_path": dataset.csv_path,
        "columns": [
            {"name": c.name, "key": c.key, "index": c.index, "kind": c.kind, "distinct": c.distinct,
             "missing_share": c.missing_share, "valid": c.valid, "reason": c.reason,
             "sample_values": c.sample_values, "digits_only": c.digits_only}
            for c in profile.columns
        ],
        "rows": profile.preview_rows,
        "stats": {"rows": profile.rows, "valid_rows": profile.valid_rows, "distinct_rows": profile.distinct_rows},
        "dialect": {
            "delimiter": profile.delimiter, "quotechar": profile.quotechar, "has_header": profile.has_header,
            "header_source": profile.header_source, "has_header_override": dataset.csv_has_header,
        },
    }


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

    def paged(self, rows, serializer_class) -> Response:
        """One page of ``rows`` (a queryset or a list) in the view's pagination."""
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(rows, self.request, view=self)
        return paginator.get_paginated_response(serializer_class(page, many=True).data)


class VersionListView(DatasetScopedView):
    serializer_class = DatasetVersionSerializer
    pagination_class = PageNumberPagination

    @extend_schema(responses=page_of(DatasetVersionSerializer), operation_id="api_v1_datasets_versions_list")
    def get(self, request, dataset_id):
        versions = DatasetVersion.objects.filter(dataset=self.dataset()).order_by("-number")
        return self.paged(versions, DatasetVersionSerializer)

    @extend_schema(
        request=VersionPublishSerializer,
        responses={201: DatasetVersionSerializer, 202: JobSerializer},
        description=(
            "Publish a version. A dataset of at most EXEML_VERSION_INLINE_MAX_SAMPLES labelled samples "
            "(default 1,000; a tenth of it for object detection; predictive analytics always) is published "
            "now: 201 with the version. A larger one answers 202 with a `dataset_version` job at once: "
            "follow it at /jobs/{id} (progress, counts.samples_written, counts.eta_seconds, cancel); when it "
            "succeeds, result.version is the new version's id. A failed or cancelled job leaves no version."
        ),
    )
    def post(self, request, dataset_id):
        data = VersionPublishSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        dataset = self.dataset()
        label_column, label_type = v.get("label_column"), v.get("label_type")
        if dataset.task_type == TaskType.PREDICTIVE_ANALYTICS and not label_column:
            label_column, label_type = selectors.tabular_label_choice(dataset=dataset)
        with transaction.atomic():
            made = dataset_version_create(
                dataset=dataset, train_ratio=v["train_ratio"], name=v.get("name") or None, seed=v["seed"],
                user=request.user, label_column=label_column, label_type=label_type,
            )
        if isinstance(made, Job):
            return Response(JobSerializer(made).data, status=status.HTTP_202_ACCEPTED)
        return Response(DatasetVersionSerializer(made).data, status=status.HTTP_201_CREATED)


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
        jobs = Job.objects.filter(kind=EXPORT_JOB_KIND, target_type="dataset", target_id=self.dataset().pk)
        return self.paged(jobs.order_by("-created_at"), JobSerializer)

    @extend_schema(request=ExportCreateSerializer, responses={202: JobSerializer})
    def post(self, request, dataset_id):
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
        fh, name = dataset_export_zip(dataset=self.dataset(), job_id=job_id)
        return attachment(fh, filename=name, content_type="application/zip")

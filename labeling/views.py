"""Labelling API: labels, annotations, batch labelling and label statistics."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response

from datasets.views import DatasetScopedView
from exeml.api.pagination import CatalogPagination, page_of
from exeml.api.permissions import LABEL
from exeml.errors import ApplicationError
from exeml.task_types import TaskType
from labeling import labels, selectors, services, stats
from labeling.serializers import (
    AnnotationsPutSerializer,
    BatchResultSerializer,
    BatchSerializer,
    LabelCreateSerializer,
    LabelDeleteResultSerializer,
    LabelSerializer,
    LabelStatsSerializer,
    LabelUpdateSerializer,
    SampleAnnotationsSerializer,
    sample_representation,
)


class LabelListView(DatasetScopedView):
    serializer_class = LabelSerializer
    pagination_class = CatalogPagination

    @extend_schema(responses=page_of(LabelSerializer))
    def get(self, request, dataset_id):
        # Evaluated first: paging a list costs no COUNT query (one query for the labels and counts).
        # A list, so paging costs no COUNT query (one query for the labels and counts).
        return self.paged(list(selectors.label_list(dataset=self.dataset())), LabelSerializer)

    @extend_schema(request=LabelCreateSerializer, responses={201: LabelSerializer})
    def post(self, request, dataset_id):
        data = LabelCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        label = labels.label_create(dataset=self.dataset(), **data.validated_data)
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
        label = labels.label_update(
            dataset=dataset, name=name, new_name=v.get("name"), color=v.get("color"), shortcut=v.get("shortcut")
        )
        row = selectors.label_list(dataset=dataset).get(pk=label.pk)
        return Response(LabelSerializer(row).data)

    @extend_schema(
        parameters=[OpenApiParameter("mode", str, enum=list(labels.DeleteMode.ALL), default="label_only")],
        responses=LabelDeleteResultSerializer,
    )
    def delete(self, request, dataset_id, name):
        mode = request.query_params.get("mode", labels.DeleteMode.LABEL_ONLY)
        result = labels.label_delete(dataset=self.dataset(), name=name, mode=mode)
        return Response(result)


class SampleAnnotationsView(DatasetScopedView):
    serializer_class = SampleAnnotationsSerializer
    capabilities = {"PUT": LABEL}

    @extend_schema(responses=SampleAnnotationsSerializer)
    def get(self, request, dataset_id, sample_id):
        sample = get_object_or_404(
            selectors.samples_with_annotations(dataset=self.dataset(), ids=[sample_id])
        )
        return _with_etag(Response(sample_representation(sample, request.user.pk)), sample.revision)

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
        try:
            sample = services.sample_annotations_set(
                dataset=dataset,
                sample_id=sample_id,
                labels=v.get("labels"),
                objects=[{"label": o["label"], "bbox": list(o["bbox"])} for o in v.get("objects", [])],
                expected_revision=parse_if_match(request.headers.get("If-Match")),
                user=request.user,
            )
        except services.StaleRevision as stale:
            stale.extra["current"] = sample_representation(stale.sample, request.user.pk)
            raise
        return _with_etag(Response(sample_representation(sample, request.user.pk)), sample.revision)


def parse_if_match(value: str | None) -> int | None:
    """``3``, ``"3"`` and ``W/"3"`` all mean revision 3; absent means no check."""
    if value is None or not value.strip() or value.strip() == "*":
        return None
    raw = value.strip()
    if raw.startswith("W/"):
        raw = raw[2:]
    raw = raw.strip().strip('"')
    if not raw.isdigit():
        raise ApplicationError(f"If-Match {value!r} is not a sample revision", field="If-Match")
    return int(raw)


def _with_etag(response: Response, revision: int) -> Response:
    response["ETag"] = f'"{revision}"'
    return response


class AnnotationBatchView(DatasetScopedView):
    serializer_class = BatchSerializer
    capabilities = {"POST": LABEL}

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
            "samples": [sample_representation(s, request.user.pk) for s in samples],
        })


class LabelStatsView(DatasetScopedView):
    serializer_class = LabelStatsSerializer

    @extend_schema(responses=LabelStatsSerializer)
    def get(self, request, dataset_id):
        return Response(stats.label_stats(dataset=self.dataset()))

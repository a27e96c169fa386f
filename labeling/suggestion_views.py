"""Model-assisted labeling API: suggestions (accept/reject), label-next, label issues."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response

from datasets.selectors import dataset_counts
from exeml.api.cursor import CURSOR_PARAMETERS, ChainedCursorPagination, CursorPagination, cursor_page_of
from exeml.api.permissions import LABEL
from exeml.errors import ApplicationError
from labeling import suggestions
from labeling.suggestion_serializers import (
    LabelIssueResolveSerializer,
    LabelIssueSerializer,
    LabelNextSerializer,
    SuggestionDecisionResultSerializer,
    SuggestionDecisionSerializer,
    SuggestionSerializer,
)
from labeling.views import DatasetScopedView


def _float_param(request, name: str) -> float | None:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return None
    try:
        return float(raw)
    except ValueError:
        raise ApplicationError(f"{name} must be a number", field=name)


class SuggestionListView(DatasetScopedView):
    serializer_class = SuggestionSerializer
    pagination_class = CursorPagination

    @extend_schema(
        parameters=[
            OpenApiParameter("status", str, description="pending (default) | accepted | rejected | all"),
            OpenApiParameter("min_confidence", float),
            OpenApiParameter("ordering", str, description="uncertainty (default) | confidence | -confidence"),
            *CURSOR_PARAMETERS,
        ],
        responses=cursor_page_of(SuggestionSerializer),
    )
    def get(self, request, dataset_id):
        status = request.query_params.get("status", "pending")
        qs = suggestions.suggestion_list(
            dataset=self.dataset(), status=None if status == "all" else status,
            min_confidence=_float_param(request, "min_confidence"),
            ordering=request.query_params.get("ordering", "uncertainty"),
        )
        return self.paged(qs, SuggestionSerializer)


class _DecisionView(DatasetScopedView):
    serializer_class = SuggestionDecisionSerializer
    capabilities = {"POST": LABEL}

    def _args(self, request) -> dict:
        shape = SuggestionDecisionSerializer(data=request.data)
        shape.is_valid(raise_exception=True)
        return {"ids": shape.validated_data.get("ids"), "min_confidence": shape.validated_data.get("min_confidence")}


class SuggestionAcceptView(_DecisionView):
    @extend_schema(request=SuggestionDecisionSerializer, responses={200: SuggestionDecisionResultSerializer})
    def post(self, request, dataset_id):
        return Response(suggestions.suggestions_accept(dataset=self.dataset(), user=request.user, **self._args(request)))


class SuggestionRejectView(_DecisionView):
    @extend_schema(request=SuggestionDecisionSerializer, responses={200: SuggestionDecisionResultSerializer})
    def post(self, request, dataset_id):
        return Response(suggestions.suggestions_reject(dataset=self.dataset(), **self._args(request)))


def _unlabelled(dataset) -> int:
    counts = dataset_counts(dataset=dataset)
    return counts.samples - counts.labeled


class LabelNextView(DatasetScopedView):
    """Unlabelled samples, the ones the model is least sure of first."""

    serializer_class = LabelNextSerializer
    pagination_class = CursorPagination

    @extend_schema(parameters=CURSOR_PARAMETERS, responses=cursor_page_of(LabelNextSerializer))
    def get(self, request, dataset_id):
        dataset = self.dataset()
        paginator = ChainedCursorPagination(count=lambda _qs: _unlabelled(dataset))
        rows = paginator.paginate_chain(suggestions.label_next_phases(dataset=dataset), request)
        return paginator.get_paginated_response(LabelNextSerializer(suggestions.label_next_rows(rows), many=True).data)


class LabelIssueListView(DatasetScopedView):
    serializer_class = LabelIssueSerializer
    pagination_class = CursorPagination

    @extend_schema(
        parameters=[
            OpenApiParameter("status", str, description="open (default) | fixed | checked | all"), *CURSOR_PARAMETERS,
        ],
        responses=cursor_page_of(LabelIssueSerializer),
    )
    def get(self, request, dataset_id):
        status = request.query_params.get("status", "open")
        qs = suggestions.label_issue_list(dataset=self.dataset(), status=None if status == "all" else status)
        return self.paged(qs, LabelIssueSerializer)


class LabelIssueResolveView(DatasetScopedView):
    serializer_class = LabelIssueResolveSerializer
    capabilities = {"POST": LABEL}

    @extend_schema(request=LabelIssueResolveSerializer, responses={200: LabelIssueSerializer})
    def post(self, request, dataset_id, issue_id):
        shape = LabelIssueResolveSerializer(data=request.data)
        shape.is_valid(raise_exception=True)
        issue = suggestions.label_issue_resolve(
            dataset=self.dataset(), issue_id=issue_id, action=shape.validated_data["action"],
            label=shape.validated_data.get("label"), user=request.user,
        )
        return Response(LabelIssueSerializer(issue).data)

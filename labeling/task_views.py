"""Team-labeling API: tasks (create, list, reassign, cancel, submit, review), a sample's
history and the members' activity. Who may call what: docs/roles.md."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.response import Response

from datasets.views import DatasetScopedView
from exeml.api.pagination import PageNumberPagination, page_of
from exeml.api.permissions import ASSIGN, LABEL, REVIEW
from exeml.errors import ApplicationError
from labeling import agreement, audit, tasks
from labeling.models import LabelingTask, TaskStatus
from labeling.task_serializers import (
    ActivitySerializer,
    AgreementSerializer,
    AnnotationEventSerializer,
    LabelingTaskSerializer,
    ReviewSerializer,
    TaskCreateSerializer,
    TaskUpdateSerializer,
)


def _task_data(rows, many: bool = True):
    rows = list(rows) if many else [rows]
    progress = audit.task_progress([t.pk for t in rows])
    data = LabelingTaskSerializer(rows, many=True, context={"progress": progress}).data
    return data if many else data[0]


class TaskListView(DatasetScopedView):
    serializer_class = LabelingTaskSerializer
    pagination_class = PageNumberPagination
    capabilities = {"POST": ASSIGN}

    @extend_schema(
        parameters=[
            OpenApiParameter("assignee", str, description="a member's username, or 'me'"),
            OpenApiParameter("status", str, enum=list(TaskStatus.values)),
        ],
        responses=page_of(LabelingTaskSerializer),
        operation_id="api_v1_datasets_tasks_list",
    )
    def get(self, request, dataset_id):
        qs = LabelingTask.objects.filter(dataset=self.dataset()).select_related("assignee")
        assignee = request.query_params.get("assignee")
        if assignee:
            qs = qs.filter(assignee=request.user) if assignee == "me" else qs.filter(assignee__username=assignee)
        wanted = request.query_params.get("status")
        if wanted:
            if wanted not in TaskStatus.values:
                raise ApplicationError(f"status must be one of {', '.join(TaskStatus.values)}", field="status")
            qs = qs.filter(status=wanted)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(qs.order_by("created_at", "id"), request, view=self)
        return paginator.get_paginated_response(_task_data(page))

    @extend_schema(
        request=TaskCreateSerializer, responses={201: LabelingTaskSerializer(many=True)},
        description="Split the unlabelled samples no task holds into tasks, given round-robin to `assignees`: "
        "`per_task` samples each, or one task per folder (`by_folder`); `order` source or label_next (the "
        "model's most uncertain first). All or nothing.",
    )
    def post(self, request, dataset_id):
        shape = TaskCreateSerializer(data=request.data)
        shape.is_valid(raise_exception=True)
        created = tasks.tasks_create(dataset=self.dataset(), user=request.user, **shape.validated_data)
        return Response(_task_data(created), status=status.HTTP_201_CREATED)


class TaskDetailView(DatasetScopedView):
    serializer_class = LabelingTaskSerializer
    capabilities = {"PATCH": ASSIGN}

    @extend_schema(responses=LabelingTaskSerializer)
    def get(self, request, dataset_id, task_id):
        return Response(_task_data(tasks.task_get(dataset=self.dataset(), task_id=task_id), many=False))

    @extend_schema(request=TaskUpdateSerializer, responses=LabelingTaskSerializer)
    def patch(self, request, dataset_id, task_id):
        shape = TaskUpdateSerializer(data=request.data)
        shape.is_valid(raise_exception=True)
        task = tasks.task_update(dataset=self.dataset(), task_id=task_id, **shape.validated_data)
        return Response(_task_data(task, many=False))


class TaskCancelView(DatasetScopedView):
    serializer_class = LabelingTaskSerializer
    capabilities = {"POST": ASSIGN}

    @extend_schema(request=None, responses=LabelingTaskSerializer)
    def post(self, request, dataset_id, task_id):
        return Response(_task_data(tasks.task_cancel(dataset=self.dataset(), task_id=task_id), many=False))


class TaskSubmitView(DatasetScopedView):
    serializer_class = LabelingTaskSerializer
    capabilities = {"POST": LABEL}

    @extend_schema(request=None, responses=LabelingTaskSerializer)
    def post(self, request, dataset_id, task_id):
        task = tasks.task_submit(dataset=self.dataset(), task_id=task_id, user=request.user)
        return Response(_task_data(task, many=False))


class TaskReviewView(DatasetScopedView):
    serializer_class = ReviewSerializer
    capabilities = {"POST": REVIEW}

    @extend_schema(
        request=ReviewSerializer, responses=LabelingTaskSerializer,
        description="Accept or reject samples of a task in review (a rejection needs a comment). When every "
        "sample is decided the task is done, or goes back to its labeler if any was rejected.",
    )
    def post(self, request, dataset_id, task_id):
        shape = ReviewSerializer(data=request.data)
        shape.is_valid(raise_exception=True)
        task = tasks.task_review(
            dataset=self.dataset(), task_id=task_id, decisions=shape.validated_data["decisions"], user=request.user
        )
        return Response(_task_data(task, many=False))


class SampleHistoryView(DatasetScopedView):
    serializer_class = AnnotationEventSerializer
    pagination_class = PageNumberPagination

    @extend_schema(responses=page_of(AnnotationEventSerializer),
                   description="Every change of the sample's annotations, oldest first: who, when, before → after.")
    def get(self, request, dataset_id, sample_id):
        return self.paged(audit.sample_history(dataset=self.dataset(), sample_id=sample_id), AnnotationEventSerializer)


class ActivityView(DatasetScopedView):
    serializer_class = ActivitySerializer

    @extend_schema(
        parameters=[OpenApiParameter("days", int, description="window, 1..365 (default 14)")],
        responses=ActivitySerializer(many=True),
    )
    def get(self, request, dataset_id):
        raw = request.query_params.get("days") or "14"
        if not raw.isdigit() or not 1 <= int(raw) <= 365:
            raise ApplicationError("days must be a whole number from 1 to 365", field="days")
        return Response(audit.member_activity(dataset=self.dataset(), days=int(raw)))




class AgreementView(DatasetScopedView):
    serializer_class = AgreementSerializer

    @extend_schema(
        responses=AgreementSerializer,
        description="Between labelers on overlap samples (Cohen's kappa per label and overall; detection: "
        "IoU-matched F1) and each labeler against the reviewed result, from the answers kept at each task's "
        "first submission.",
    )
    def get(self, request, dataset_id):
        return Response(agreement.dataset_agreement(dataset=self.dataset()))

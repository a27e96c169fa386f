from django.urls import path

from labeling import suggestion_views, task_views, views

app_name = "labeling"

_D = "datasets/<uuid:dataset_id>"

urlpatterns = [
    path(f"{_D}/labels", views.LabelListView.as_view(), name="label-list"),
    path(f"{_D}/labels/<str:name>", views.LabelDetailView.as_view(), name="label-detail"),
    path(f"{_D}/samples/<uuid:sample_id>/annotations", views.SampleAnnotationsView.as_view(), name="annotations"),
    path(f"{_D}/annotations/batch", views.AnnotationBatchView.as_view(), name="annotations-batch"),
    path(f"{_D}/samples/<uuid:sample_id>/history", task_views.SampleHistoryView.as_view(), name="sample-history"),
    path(f"{_D}/tasks", task_views.TaskListView.as_view(), name="task-list"),
    path(f"{_D}/tasks/<uuid:task_id>", task_views.TaskDetailView.as_view(), name="task-detail"),
    path(f"{_D}/tasks/<uuid:task_id>/submit", task_views.TaskSubmitView.as_view(), name="task-submit"),
    path(f"{_D}/tasks/<uuid:task_id>/review", task_views.TaskReviewView.as_view(), name="task-review"),
    path(f"{_D}/tasks/<uuid:task_id>/cancel", task_views.TaskCancelView.as_view(), name="task-cancel"),
    path(f"{_D}/activity", task_views.ActivityView.as_view(), name="activity"),
    path(f"{_D}/agreement", task_views.AgreementView.as_view(), name="agreement"),
    path(f"{_D}/label-stats", views.LabelStatsView.as_view(), name="label-stats"),
    path(f"{_D}/suggestions", suggestion_views.SuggestionListView.as_view(), name="suggestion-list"),
    path(f"{_D}/suggestions/accept", suggestion_views.SuggestionAcceptView.as_view(), name="suggestion-accept"),
    path(f"{_D}/suggestions/reject", suggestion_views.SuggestionRejectView.as_view(), name="suggestion-reject"),
    path(f"{_D}/label-next", suggestion_views.LabelNextView.as_view(), name="label-next"),
    path(f"{_D}/label-issues", suggestion_views.LabelIssueListView.as_view(), name="label-issue-list"),
    path(
        f"{_D}/label-issues/<uuid:issue_id>/resolve", suggestion_views.LabelIssueResolveView.as_view(),
        name="label-issue-resolve",
    ),
]

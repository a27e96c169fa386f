from django.urls import path

from labeling import views

app_name = "labeling"

_D = "datasets/<uuid:dataset_id>"

urlpatterns = [
    path(f"{_D}/labels", views.LabelListView.as_view(), name="label-list"),
    path(f"{_D}/labels/<str:name>", views.LabelDetailView.as_view(), name="label-detail"),
    path(f"{_D}/samples/<uuid:sample_id>/annotations", views.SampleAnnotationsView.as_view(), name="annotations"),
    path(f"{_D}/annotations/batch", views.AnnotationBatchView.as_view(), name="annotations-batch"),
    path(f"{_D}/label-stats", views.LabelStatsView.as_view(), name="label-stats"),
]

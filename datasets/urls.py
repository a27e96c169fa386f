from django.urls import path
from rest_framework.routers import DefaultRouter

from datasets import views

app_name = "datasets"

router = DefaultRouter(trailing_slash=False)
router.include_root_view = False
router.register("datasets", views.DatasetViewSet, basename="dataset")

_D = "datasets/<uuid:dataset_id>"

urlpatterns = [
    *router.urls,
    path(f"{_D}/versions", views.VersionListView.as_view(), name="version-list"),
    path(f"{_D}/versions/<uuid:version_id>", views.VersionDetailView.as_view(), name="version-detail"),
    path(f"{_D}/exports", views.ExportListView.as_view(), name="export-list"),
    path(f"{_D}/exports/<uuid:job_id>/download", views.ExportDownloadView.as_view(), name="export-download"),
]

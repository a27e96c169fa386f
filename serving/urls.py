from django.urls import include, path
from rest_framework.routers import DefaultRouter

from serving import batch_views, model_job_views, views

router = DefaultRouter(trailing_slash=False)
router.include_root_view = False
router.register("services", views.ServiceViewSet, basename="service")
router.register("models", views.ModelViewSet, basename="model")

urlpatterns = [
    path(
        "projects/<uuid:project_id>/versions/<str:version>/deploy",
        views.DeployView.as_view(),
        name="version-deploy",
    ),
    path(
        "projects/<uuid:project_id>/versions/<str:version>/prelabel",
        model_job_views.PrelabelView.as_view(),
        name="version-prelabel",
    ),
    path(
        "projects/<uuid:project_id>/versions/<str:version>/batch-predict",
        model_job_views.BatchPredictView.as_view(),
        name="version-batch-predict",
    ),
    path("batch-predictions/<uuid:job_id>/results", batch_views.BatchResultsView.as_view(),
         name="batch-results"),
    path("batch-predictions/<uuid:job_id>/download", batch_views.BatchResultsDownloadView.as_view(),
         name="batch-results-download"),
    path("", include(router.urls)),
]

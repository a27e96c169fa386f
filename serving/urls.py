from django.urls import include, path
from rest_framework.routers import DefaultRouter

from serving import assist_views, views

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
        assist_views.PrelabelView.as_view(),
        name="version-prelabel",
    ),
    path(
        "projects/<uuid:project_id>/versions/<str:version>/batch-predict",
        assist_views.BatchPredictView.as_view(),
        name="version-batch-predict",
    ),
    path("", include(router.urls)),
]

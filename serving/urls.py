from django.urls import include, path
from rest_framework.routers import DefaultRouter

from serving import views

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
    path("", include(router.urls)),
]

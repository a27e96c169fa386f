from django.urls import path

from training import views

versions = views.ModelVersionViewSet

urlpatterns = [
    path("projects/<uuid:project_id>/train", views.TrainView.as_view(), name="project-train"),
    path("projects/<uuid:project_id>/train-check", views.TrainCheckView.as_view(), name="project-train-check"),
    path("projects/<uuid:project_id>/versions", versions.as_view({"get": "list"}), name="version-list"),
    path(
        "projects/<uuid:project_id>/versions/<str:version>",
        versions.as_view({"get": "retrieve"}),
        name="version-detail",
    ),
    path(
        "projects/<uuid:project_id>/versions/<str:version>/stop",
        versions.as_view({"post": "stop"}),
        name="version-stop",
    ),
    path("datasets/<uuid:dataset_id>/label-issues/scan", views.LabelCheckView.as_view(), name="label-check"),
    path(
        "projects/<uuid:project_id>/versions/<str:version>/logs",
        versions.as_view({"get": "logs"}),
        name="version-logs",
    ),
]

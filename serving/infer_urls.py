from django.urls import path

from serving.infer_views import InferView

urlpatterns = [
    path("infers/<uuid:service_id>", InferView.as_view(), name="serving-infer"),
]

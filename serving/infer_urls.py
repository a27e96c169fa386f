from django.urls import path

from serving.infer_views import InferView

urlpatterns = [
    # serving.middleware answers the plain warm call of this route before it gets here.
    path("infers/<uuid:service_id>", InferView.as_view(), name="serving-infer"),
]

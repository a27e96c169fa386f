from rest_framework.routers import DefaultRouter

from datasets.views import DatasetViewSet

app_name = "datasets"

router = DefaultRouter(trailing_slash=False)
router.include_root_view = False
router.register("datasets", DatasetViewSet, basename="dataset")

urlpatterns = router.urls

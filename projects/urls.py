from rest_framework.routers import DefaultRouter

from projects.views import ProjectViewSet

app_name = "projects"

router = DefaultRouter(trailing_slash=False)
router.include_root_view = False
router.register("projects", ProjectViewSet, basename="project")

urlpatterns = router.urls

from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from exeml import health, spa
from exeml.api import schema as _openapi_extensions  # noqa: F401  (registers the auth schemes)
from exeml.jobs.views import JobViewSet
from exeml.tenancy import views as tenancy_views

router = DefaultRouter(trailing_slash=False)
router.include_root_view = False
router.register("flavors", tenancy_views.FlavorViewSet, basename="flavor")
router.register("usage", tenancy_views.UsageViewSet, basename="usage")
router.register("jobs", JobViewSet, basename="job")
router.register("tokens", tenancy_views.ApiTokenViewSet, basename="token")

api_v1 = [
    path("auth/token", tenancy_views.TokenCreateView.as_view(), name="auth-token"),
    path("auth/csrf", tenancy_views.CsrfView.as_view(), name="auth-csrf"),
    path("auth/login", tenancy_views.SessionLoginView.as_view(), name="auth-login"),
    path("auth/logout", tenancy_views.SessionLogoutView.as_view(), name="auth-logout"),
    path("auth/password", tenancy_views.PasswordChangeView.as_view(), name="auth-password"),
    path("me", tenancy_views.MeView.as_view(), name="me"),
    path("members", tenancy_views.MemberListView.as_view(), name="member-list"),
    path("members/<str:username>", tenancy_views.MemberDetailView.as_view(), name="member-detail"),
    path("quotas", tenancy_views.QuotaView.as_view(), name="quotas"),
    path("", include("exeml.storage_api.urls")),
    path("", include("projects.urls")),
    path("", include("datasets.urls")),
    path("", include("labeling.urls")),
    path("", include("training.urls")),
    path("", include("serving.urls")),
    path("", include(router.urls)),
]

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("livez", health.livez, name="livez"),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("api/v1/", include(api_v1)),
    path("v1/", include("serving.infer_urls")),
    re_path(r"^(?!api/|v1/|admin/|static/|assets/|healthz|livez).*$", spa.console, name="console"),
]

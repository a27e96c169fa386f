"""A test URLconf: the product's URLs plus probes of the tenant scope (test_security_scope_leak.py)."""

from __future__ import annotations

import contextlib

from django.http import JsonResponse
from django.urls import path
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from datasets.models import Dataset
from exeml.api.views import TenantAPIView
from exeml.tenancy.models import Tenant
from exeml.tenancy.scoping import TenantScopeError, current_tenant_id, is_unscoped, set_tenant, unscoped
from exeml.urls import urlpatterns as product_urlpatterns


def scope_seen() -> dict:
    """What a request sees: its tenant, whether it is unscoped, and the datasets a scoped query gives."""
    tenant_id = current_tenant_id()
    try:
        datasets: list[str] | str = sorted(Dataset.objects.values_list("name", flat=True))
    except TenantScopeError:
        datasets = "refused"
    return {"tenant": str(tenant_id) if tenant_id else None, "unscoped": is_unscoped(), "datasets": datasets}


class BoomView(TenantAPIView):
    """Raises an unhandled exception with the caller's tenant in scope: DRF answers a 500."""

    permission_classes = [AllowAny]

    def get(self, request):
        assert current_tenant_id() == request.tenant.pk
        raise RuntimeError("boom, with a tenant in scope")


class ScopeView(TenantAPIView):
    permission_classes = [AllowAny]

    def get(self, request):
        return Response(scope_seen())


def plain_scope(request):
    """A plain Django view: nothing of the API's scoping runs before it."""
    return JsonResponse(scope_seen())


# Held, so that the garbage collector does not close the left-open unscoped() blocks.
LEFT_OPEN: list[contextlib.ExitStack] = []


def plain_leak(request):
    """A careless view: sets a tenant and enters unscoped() and resets neither."""
    set_tenant(Tenant.objects.get(slug=request.GET["tenant"]))
    stack = contextlib.ExitStack()
    stack.enter_context(unscoped())
    LEFT_OPEN.append(stack)
    return JsonResponse({})


urlpatterns = [
    path("api/v1/probe/boom", BoomView.as_view()),
    path("api/v1/probe/scope", ScopeView.as_view()),
    path("probe/plain-scope", plain_scope),
    path("probe/plain-leak", plain_leak),
    *product_urlpatterns,
]

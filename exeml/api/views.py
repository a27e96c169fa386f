"""Base classes every tenant API view derives from.

Scoping happens here once: the tenant comes from the token (or the session's
membership), is put in the scoping ContextVar for the whole request (set in ``initial``,
reset by the ``request_scope()`` around ``dispatch``, however the view ends), and querysets come
from ``safely_get_queryset``. Subclasses cannot override ``get_queryset``/``get_object``
(refused at class creation), so a view cannot forget the tenant.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from rest_framework import mixins, viewsets
from rest_framework.exceptions import NotAuthenticated
from rest_framework.views import APIView

from exeml.errors import ApplicationError
from exeml.tenancy.models import ApiToken, Membership
from exeml.tenancy.scoping import request_scope, set_tenant, unscoped

SESSION_TENANT_KEY = "exeml_tenant_id"


def resolve_membership(request) -> Membership | None:
    user = request.user
    if not user or not user.is_authenticated:
        return None
    if isinstance(request.auth, ApiToken):
        cached = getattr(request._request, "exeml_membership", None)
        if cached is not None and cached.tenant_id == request.auth.tenant_id and cached.user_id == user.pk:
            return cached
        return Membership.objects.select_related("tenant").filter(user=user, tenant=request.auth.tenant).first()
    memberships = Membership.objects.select_related("tenant").filter(user=user).order_by("created_at")
    wanted = request.session.get(SESSION_TENANT_KEY) if hasattr(request, "session") else None
    if wanted:
        chosen = memberships.filter(tenant_id=wanted).first()
        if chosen:
            return chosen
    return memberships.first()


def _refuse_nul_bytes(request, url_kwargs: dict[str, Any]) -> None:
    """PostgreSQL text cannot hold NUL: a filter on ``?search=%00`` would be a 500, so it is a 400
    here, for every query parameter and URL part (bodies are checked by the serializers)."""
    params = request.query_params
    for key in params:
        if "\x00" in key or any("\x00" in value for value in params.getlist(key)):
            raise ApplicationError("NUL characters are not allowed", field=key.replace("\x00", "") or "query")
    for key, value in url_kwargs.items():
        if isinstance(value, str) and "\x00" in value:
            raise ApplicationError("NUL characters are not allowed", field=key)


class TenantScopedMixin:
    """Resolve the tenant, scope the request to it, reset the scope afterwards."""

    def dispatch(self, request, *args, **kwargs):
        # One try/finally around the whole request. DRF skips finalize_response when a view
        # raises an unhandled exception (a 500), so a reset there left the tenant in scope for
        # the next request on this thread: its fail-closed guard off and its saves stamped
        # with the wrong tenant.
        with request_scope():
            return super().dispatch(request, *args, **kwargs)

    def initial(self, request, *args, **kwargs):
        self.perform_authentication(request)
        membership = resolve_membership(request)
        request.membership = membership
        request.tenant = membership.tenant if membership else None
        if membership is not None:
            set_tenant(membership.tenant)  # reset by the request_scope() in dispatch
        super().initial(request, *args, **kwargs)
        _refuse_nul_bytes(request, kwargs)

    def permission_denied(self, request, message=None, code=None):
        if request.authenticators and not request.successful_authenticator:
            raise NotAuthenticated()
        super().permission_denied(request, message=message, code=code)


class TenantAPIView(TenantScopedMixin, APIView):
    """A plain API view of the tenant (no model queryset)."""


_FORBIDDEN_OVERRIDES = ("get_queryset", "get_object")


class TenantModelViewSet(TenantScopedMixin, viewsets.GenericViewSet):
    """Subclasses implement ``safely_get_queryset`` and mix in the actions they need."""

    lookup_value_converter = "uuid"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name in _FORBIDDEN_OVERRIDES:
            if name in cls.__dict__:
                raise TypeError(
                    f"{cls.__name__} overrides {name}; implement safely_get_queryset instead so tenant "
                    "scoping cannot be bypassed"
                )

    def safely_get_queryset(self) -> QuerySet:
        raise NotImplementedError

    def get_queryset(self) -> QuerySet:
        if getattr(self, "swagger_fake_view", False):
            # Schema generation has no tenant: an empty queryset of the model types the path ids.
            model = type(self).serializer_class.Meta.model
            with unscoped():
                return getattr(model, "all_tenants", model._default_manager).none()
        qs = self.safely_get_queryset()
        if self.request.tenant is None:
            return qs.none()
        if any(f.name == "tenant" for f in qs.model._meta.fields):
            qs = qs.filter(tenant_id=self.request.tenant.pk)
        return qs

    def perform_create(self, serializer) -> None:
        serializer.save(tenant=self.request.tenant)


class TenantReadOnlyViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantModelViewSet):
    pass

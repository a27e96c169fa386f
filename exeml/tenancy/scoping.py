"""Tenant scoping in one place.

The current tenant lives in a ContextVar. ``TenantOwned`` models get a default manager
that filters by it and raises when none is set (fail closed), so a query that forgot
the tenant is an error, not a leak. ``unscoped()`` is the explicit, greppable escape
hatch for beat jobs, admin and migrations.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from django.db import models

if TYPE_CHECKING:
    from exeml.tenancy.models import Tenant

_current_tenant: ContextVar[Any] = ContextVar("exeml_current_tenant", default=None)
_unscoped: ContextVar[bool] = ContextVar("exeml_unscoped", default=False)


class TenantScopeError(RuntimeError):
    """A tenant-owned table was queried with no tenant in scope."""


def current_tenant() -> Tenant | None:
    return _current_tenant.get()


def current_tenant_id() -> uuid.UUID | None:
    tenant = _current_tenant.get()
    return tenant.pk if tenant is not None else None


@contextlib.contextmanager
def tenant_scope(tenant: Tenant | uuid.UUID | str) -> Iterator[Tenant]:
    """Run a block as one tenant (tasks, shells). Accepts a Tenant or its id."""
    from exeml.tenancy.models import Tenant

    if not isinstance(tenant, Tenant):
        tenant = Tenant.objects.get(pk=tenant)
    token = _current_tenant.set(tenant)
    try:
        yield tenant
    finally:
        _current_tenant.reset(token)


def set_tenant(tenant: Tenant | None) -> Any:
    """For the API layer, inside the ``request_scope()`` that resets it; returns a reset token."""
    return _current_tenant.set(tenant)


@contextlib.contextmanager
def request_scope() -> Iterator[None]:
    """One request's scope, set and reset in one try/finally: the block starts with no tenant and
    not unscoped, whatever the thread carried, and whatever the block sets (``set_tenant``, an
    ``unscoped()`` left open) is undone when it ends, by a return or by any exception. Web threads
    serve request after request (keep-alive), so a scope that outlived its request would be the
    next one's."""
    tenant_token = _current_tenant.set(None)
    unscoped_token = _unscoped.set(False)
    try:
        yield
    finally:
        _unscoped.reset(unscoped_token)
        _current_tenant.reset(tenant_token)


@contextlib.contextmanager
def unscoped() -> Iterator[None]:
    """Deliberately query across tenants (beat reapers, admin, migrations)."""
    token = _unscoped.set(True)
    try:
        yield
    finally:
        _unscoped.reset(token)


def is_unscoped() -> bool:
    return _unscoped.get()


class TenantScopedManager(models.Manager):
    def get_queryset(self) -> models.QuerySet:
        qs = super().get_queryset()
        if _unscoped.get():
            return qs
        tenant = _current_tenant.get()
        if tenant is None:
            raise TenantScopeError(
                f"{self.model.__name__} queried without a tenant in scope; use tenant_scope() or unscoped()"
            )
        return qs.filter(tenant_id=tenant.pk)


class AllTenantsManager(models.Manager):
    """Every tenant's rows, only inside ``unscoped()``: the one named escape from scoping."""

    def get_queryset(self) -> models.QuerySet:
        if not _unscoped.get():
            raise TenantScopeError(
                f"{self.model.__name__}.all_tenants used outside unscoped(); "
                "query through .objects in a tenant_scope() or wrap the cross-tenant read in unscoped()"
            )
        return super().get_queryset()


class TenantOwned(models.Model):
    """Abstract base of every tenant-owned row.

    Django's base manager (related-object access, saves, deletion cascades) stays the
    implicit unfiltered one: those paths start from a row already read through a scope.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey("tenancy.Tenant", on_delete=models.CASCADE, related_name="+", editable=False)

    objects = TenantScopedManager()
    all_tenants = AllTenantsManager()

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.tenant_id is None:
            tenant = _current_tenant.get()
            if tenant is None:
                raise TenantScopeError(f"cannot save {type(self).__name__} without a tenant in scope")
            self.tenant = tenant
        else:
            tenant = _current_tenant.get()
            if tenant is not None and tenant.pk != self.tenant_id and not _unscoped.get():
                raise TenantScopeError("refusing to save another tenant's row")
        super().save(*args, **kwargs)

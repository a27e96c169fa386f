"""Tenancy reads."""

from __future__ import annotations

from django.db.models import QuerySet

from exeml.tenancy.models import ApiToken, Tenant


def token_list(*, user, tenant: Tenant) -> QuerySet[ApiToken]:
    """The user's own tokens in ``tenant``, revoked ones included, newest first. A token is a
    user's credential: nobody else in the tenant, not even its owner, lists or revokes it."""
    return ApiToken.objects.filter(user=user, tenant=tenant).order_by("-created_at", "-id")

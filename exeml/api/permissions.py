from __future__ import annotations

from rest_framework import permissions

from exeml.tenancy.models import MANAGE_ROLES, WRITE_ROLES


class IsTenantMember(permissions.BasePermission):
    """Authenticated, a member of the resolved tenant; viewers may only read."""

    message = "Your role does not allow this."

    def has_permission(self, request, view) -> bool:
        if not request.user or not request.user.is_authenticated:
            return False
        membership = getattr(request, "membership", None)
        if membership is None:
            return False
        if request.method in permissions.SAFE_METHODS:
            return True
        return membership.role in WRITE_ROLES


class IsTenantMemberAnyRole(permissions.BasePermission):
    """Authenticated, a member of the resolved tenant, viewers included: for what is the user's
    own (their API tokens), never for the tenant's data."""

    def has_permission(self, request, view) -> bool:
        if not request.user or not request.user.is_authenticated:
            return False
        return getattr(request, "membership", None) is not None


class IsTenantManager(permissions.BasePermission):
    """Owner or admin: model downloads, tenant settings."""

    message = "Only the tenant's owner or an admin may do this."

    def has_permission(self, request, view) -> bool:
        membership = getattr(request, "membership", None)
        return membership is not None and membership.role in MANAGE_ROLES

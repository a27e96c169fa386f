"""The one permission check of the API: the caller's role against ``exeml.tenancy.roles``."""

from __future__ import annotations

from rest_framework import permissions

from exeml.tenancy.roles import Capability, required_capability, role_allows


class RoleAllows(permissions.BasePermission):
    """Authenticated, a member of the resolved tenant, and the member's role has the
    capability the view names for this method (``capabilities``; read/write by default)."""

    message = "Your role does not allow this."

    def has_permission(self, request, view) -> bool:
        if not request.user or not request.user.is_authenticated:
            return False
        membership = getattr(request, "membership", None)
        if membership is None:
            return False
        capability = required_capability(view, request.method)
        if not role_allows(membership.role, capability):
            self.message = f"Your role ({membership.role}) does not allow this (it needs '{capability}')."
            return False
        return True


# The capabilities views name most often, spelled once.
READ, WRITE, LABEL, REVIEW, ASSIGN, MANAGE, TOKENS, INFER, ACCOUNT = (
    Capability.READ, Capability.WRITE, Capability.LABEL, Capability.REVIEW, Capability.ASSIGN,
    Capability.MANAGE, Capability.TOKENS, Capability.INFER, Capability.ACCOUNT,
)

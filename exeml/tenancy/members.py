"""A tenant's members: invite (a new account or an existing one), change roles, remove.

Rules that keep a tenant governable: only an owner grants, changes or removes the owner
role, and the last owner can neither leave nor be demoted. Removing a member keeps their
work (annotations, versions keep who made them); their tokens for this tenant stop working
and the ``member_removed`` signal lets higher layers (labeling's tasks) let go of them.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone

from exeml.errors import ApplicationError, NotFound
from exeml.tenancy.models import ApiToken, Membership, Role, Tenant
from exeml.tenancy.services import password_check

# Sent inside the removing transaction with ``tenant`` and ``user``.
member_removed = Signal()

USERNAME_MAX = 150


def member_list(*, tenant: Tenant):
    return Membership.objects.select_related("user").filter(tenant=tenant).order_by("created_at", "pk")


def _check_role(role: str) -> str:
    if role not in Role.values:
        raise ApplicationError(f"role must be one of {', '.join(Role.values)}", field="role")
    return role


def _guard_owner_change(actor: Membership, role_before: str | None, role_after: str | None) -> None:
    if Role.OWNER in (role_before, role_after) and role_before != role_after and actor.role != Role.OWNER:
        raise ApplicationError("only an owner grants, changes or removes the owner role", code="forbidden",
                               status=403)


def _last_owner(membership: Membership) -> bool:
    return (
        membership.role == Role.OWNER
        and not Membership.objects.filter(tenant=membership.tenant, role=Role.OWNER).exclude(pk=membership.pk).exists()
    )


@transaction.atomic
def member_invite(*, actor: Membership, username: str, role: str, password: str | None = None) -> Membership:
    """Add ``username`` with ``role``: an existing account joins; a new one needs a password."""
    tenant = actor.tenant
    _check_role(role)
    username = (username or "").strip()
    if not username or len(username) > USERNAME_MAX:
        raise ApplicationError(f"a username of 1 to {USERNAME_MAX} characters", field="username")
    user_model = get_user_model()
    user = user_model.objects.filter(username=username).first()
    if user is not None and Membership.objects.filter(user=user, tenant=tenant).exists():
        raise ApplicationError(f"{username} is already a member", field="username")
    _guard_owner_change(actor, None, role)
    if user is None:
        if not password:
            raise ApplicationError("a new account needs a password", field="password")
        user = user_model(username=username)
        try:
            user.full_clean(exclude=["password"])
        except Exception as exc:  # noqa: BLE001 - Django's ValidationError, reported on the field
            messages = getattr(exc, "message_dict", {}).get("username") or [str(exc)]
            raise ApplicationError(" ".join(messages), field="username")
        password_check(password=password, user=user)
        user.set_password(password)
        user.save()
    elif password:
        raise ApplicationError("this account exists; it joins with its own password", field="password")
    return Membership.objects.create(user=user, tenant=tenant, role=role)


def _member(tenant: Tenant, username: str) -> Membership:
    membership = Membership.objects.select_related("user", "tenant").filter(tenant=tenant, user__username=username).first()
    if membership is None:
        raise NotFound(f"member {username!r} not found")
    return membership


@transaction.atomic
def member_role_set(*, actor: Membership, username: str, role: str) -> Membership:
    _check_role(role)
    membership = _member(actor.tenant, username)
    Membership.objects.select_for_update().filter(tenant=actor.tenant, role=Role.OWNER).count()
    _guard_owner_change(actor, membership.role, role)
    if role != Role.OWNER and _last_owner(membership):
        raise ApplicationError("the tenant's last owner cannot be demoted; make another owner first", field="role")
    membership.role = role
    membership.save(update_fields=["role"])
    return membership


@transaction.atomic
def member_remove(*, actor: Membership, username: str) -> None:
    membership = _member(actor.tenant, username)
    Membership.objects.select_for_update().filter(tenant=actor.tenant, role=Role.OWNER).count()
    _guard_owner_change(actor, membership.role, None)
    if _last_owner(membership):
        raise ApplicationError("the tenant's last owner cannot be removed", field="username")
    ApiToken.objects.filter(user=membership.user, tenant=actor.tenant, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    member_removed.send(sender=Membership, tenant=actor.tenant, user=membership.user)
    membership.delete()

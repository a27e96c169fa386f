"""Tenants, users, tokens and quota checks."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import get_user_model, password_validation
from django.core.exceptions import ValidationError
from django.db import transaction

from exeml.errors import ApplicationError, QuotaExceeded
from exeml.tenancy.models import ApiToken, Flavor, FlavorPurpose, Membership, Quota, Role, Tenant, UsageRecord


@transaction.atomic
def tenant_create(*, slug: str, name: str = "") -> Tenant:
    tenant, created = Tenant.objects.get_or_create(slug=slug, defaults={"name": name or slug})
    if created or not tenant.storage_roots:
        tenant.storage_roots = [f"s3://{settings.EXEML_BUCKET}/{slug}/"]
        tenant.save(update_fields=["storage_roots"])
    Quota.objects.get_or_create(tenant=tenant)
    return tenant


@transaction.atomic
def member_add(*, tenant: Tenant, username: str, password: str | None = None, role: str = Role.MEMBER):
    """Adds (or re-roles) a member. The password is set as given: entry points that take one
    from a person check it first with :func:`password_check` (the CLI does)."""
    user_model = get_user_model()
    user, created = user_model.objects.get_or_create(username=username)
    if password is not None and (created or not user.has_usable_password() or password):
        user.set_password(password)
        user.save()
    membership, _ = Membership.objects.update_or_create(user=user, tenant=tenant, defaults={"role": role})
    return user, membership


# The login takes at most this many characters: a longer password could never be used.
PASSWORD_MAX_LENGTH = 256


def password_check(*, password: str, user, field: str = "password") -> None:
    """AUTH_PASSWORD_VALIDATORS for ``user`` (saved or not yet); every reason in one 400 on ``field``."""
    reasons = []
    if len(password) > PASSWORD_MAX_LENGTH:
        reasons.append(f"This password is longer than {PASSWORD_MAX_LENGTH} characters.")
    try:
        password_validation.validate_password(password, user)
    except ValidationError as exc:
        reasons.extend(exc.messages)
    if reasons:
        raise ApplicationError(" ".join(reasons), code="invalid_password", field=field)


@transaction.atomic
def password_set(*, user, password: str, field: str = "password") -> None:
    """The operator's reset and the last step of a change. The user's other console sessions
    end (Django ties a session to the password hash); API tokens are separate credentials."""
    password_check(password=password, user=user, field=field)
    user.set_password(password)
    user.save(update_fields=["password"])


def password_change(*, user, current_password: str, new_password: str) -> None:
    """The signed-in user's own change: the current password proves it is them."""
    if not user.check_password(current_password):
        raise ApplicationError("The current password is wrong.", code="wrong_password", field="current_password")
    if new_password == current_password:
        raise ApplicationError("The new password is the current one.", field="new_password")
    password_set(user=user, password=new_password, field="new_password")


def token_issue(*, user, tenant: Tenant, name: str = "") -> str:
    _, key = ApiToken.issue(user=user, tenant=tenant, name=name)
    return key


# The column's length (ApiToken.name).
TOKEN_NAME_MAX_LENGTH = ApiToken._meta.get_field("name").max_length
# Live (not revoked) tokens one user may hold in one tenant when creating one by name: a
# forgotten script creating a token per run is stopped here instead of filling the table.
# The password login (auth/token) is not capped: a user is never locked out of signing in.
TOKENS_LIVE_MAX = 50


def token_create(*, user, tenant: Tenant, name: str) -> tuple[ApiToken, str]:
    """A named token of ``user`` in ``tenant``; the key is returned once and only its hash kept."""
    name = name.strip()
    if not name:
        raise ApplicationError("A token needs a name (what or who uses it).", code="required", field="name")
    if len(name) > TOKEN_NAME_MAX_LENGTH:
        raise ApplicationError(
            f"At most {TOKEN_NAME_MAX_LENGTH} characters (this name has {len(name)}).", code="max_length", field="name"
        )
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        raise ApplicationError("Control characters are not allowed in a token name.", field="name")
    with transaction.atomic():
        # The membership row serialises two creates of one user: the cap cannot be passed by racing.
        Membership.objects.select_for_update().filter(user=user, tenant=tenant).first()
        live = ApiToken.objects.filter(user=user, tenant=tenant, revoked_at__isnull=True).count()
        if live >= TOKENS_LIVE_MAX:
            raise ApplicationError(
                f"You have {live} active API tokens in this tenant, the most allowed ({TOKENS_LIVE_MAX}); "
                "revoke one you no longer use first.",
                code="too_many_tokens", extra={"limit": TOKENS_LIVE_MAX},
            )
        return ApiToken.issue(user=user, tenant=tenant, name=name)


def token_revoke(*, token: ApiToken) -> ApiToken:
    """Revoked at once (this process's auth cache forgets it too); revoking again keeps the first time."""
    if token.revoked_at is None:
        token.revoke()
    return token


def quota_for(tenant: Tenant) -> Quota:
    quota, _ = Quota.objects.get_or_create(tenant=tenant)
    return quota


def samples_per_dataset_limit(tenant: Tenant) -> int:
    """The tenant's own quota when set, else EXEML_MAX_SAMPLES_PER_DATASET."""
    own = quota_for(tenant).max_samples_per_dataset
    return int(own if own is not None else settings.EXEML_LIMITS["max_samples_per_dataset"])


# quota field -> function(tenant) giving current usage. Apps register theirs in
# AppConfig.ready(), so tenancy never imports the apps above it.
_USAGE: dict[str, Callable[[Tenant], int | float]] = {}

QUOTA_FIELDS = (
    "max_projects",
    "max_storage_bytes",
    "max_concurrent_trainings",
    "max_running_services",
    "max_training_minutes_per_month",
    "max_concurrent_model_jobs",
)


def usage_register(quota: str, fn: Callable[[Tenant], int | float]) -> None:
    if quota not in QUOTA_FIELDS:
        raise ValueError(f"unknown quota {quota}")
    _USAGE[quota] = fn


def quota_usage(*, tenant: Tenant, quota: str) -> int | float:
    fn = _USAGE.get(quota)
    return fn(tenant) if fn else 0


def quota_check(*, tenant: Tenant, quota: str, adding: int | float = 1) -> None:
    """Raise QuotaExceeded when current usage + ``adding`` would pass the limit."""
    limit = getattr(quota_for(tenant), quota)
    current = quota_usage(tenant=tenant, quota=quota)
    if current + adding > limit:
        raise QuotaExceeded(quota=quota, limit=limit, used=current)


def quota_summary(*, tenant: Tenant) -> list[dict]:
    quota = quota_for(tenant)
    return [
        {"quota": name, "limit": getattr(quota, name), "used": quota_usage(tenant=tenant, quota=name)}
        for name in QUOTA_FIELDS
    ]


def usage_record_finished(*, resource: str, resource_id, resource_name: str, start, end, flavor_id=None) -> UsageRecord:
    """Bill a finished piece of work (a training, a model job) from ``start`` to ``end``."""
    minutes = max(0.0, (end - start).total_seconds() / 60.0)
    return UsageRecord.objects.create(
        resource=resource[:20], resource_id=resource_id, resource_name=resource_name[:120], flavor_id=flavor_id,
        start=start, end=end, minutes=round(minutes, 4),
    )


def flavor_resolve(*, purpose: str, task_type: str, code: str | None, free_default: bool = False) -> Flavor:
    """The active ``purpose`` flavor named ``code``, or without one the first CPU flavor (free
    ones only with ``free_default``) that takes ``task_type``. Refusals are 400s on ``flavor``."""
    what = "training" if purpose == FlavorPurpose.TRAIN else "deploy"
    flavors = Flavor.objects.filter(purpose=purpose, active=True)
    if not code:
        defaults = flavors.filter(device="cpu", **({"free": True} if free_default else {}))
        for flavor in defaults.order_by("sort_order", "code"):
            if flavor.allows(task_type):
                return flavor
        kind = "free CPU" if free_default else "CPU"
        raise ApplicationError(f"no active {kind} {what} flavor is configured for {task_type}", field="flavor")
    flavor = flavors.filter(code=code).first()
    if flavor is None:
        raise ApplicationError(f"unknown {what} flavor {code!r}", field="flavor")
    if not flavor.allows(task_type):
        verb = "train" if purpose == FlavorPurpose.TRAIN else "serve"
        raise ApplicationError(f"flavor {flavor.code} cannot {verb} {task_type} projects", field="flavor")
    return flavor

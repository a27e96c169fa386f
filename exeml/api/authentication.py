"""Token auth with both headers (``Authorization: Token`` and ModelArts' ``X-Auth-Token``)
and session auth for the console."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from rest_framework import authentication, exceptions

from exeml.api.throttling import FailedTokenThrottle
from exeml.tenancy.models import ApiToken, Membership, hash_token
from exeml.tenancy.tokencache import auth_cache

# Writing last_used_at on every request would make every read a write.
_LAST_USED_RESOLUTION = timedelta(minutes=1)


def token_from_headers(request) -> str | None:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if header:
        parts = header.split()
        if len(parts) == 2 and parts[0].lower() in ("token", "bearer"):
            return parts[1]
        if parts and parts[0].lower() in ("token", "bearer"):
            raise exceptions.AuthenticationFailed("Malformed Authorization header.")
    key = request.META.get("HTTP_X_AUTH_TOKEN", "").strip()
    return key or None


def authenticate_key(key: str) -> ApiToken:
    token = ApiToken.objects.select_related("user", "tenant").filter(key_hash=hash_token(key)).first()
    if token is None or token.revoked_at is not None or not token.user.is_active:
        raise exceptions.AuthenticationFailed("Invalid or revoked token.")
    if not Membership.objects.filter(user=token.user, tenant=token.tenant).exists():
        raise exceptions.AuthenticationFailed("The token's user is no longer a member of its tenant.")
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > _LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token


class ApiTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Token"

    def authenticate(self, request):
        key = token_from_headers(request)
        if key is None:
            return None
        try:
            token = authenticate_key(key)
        except exceptions.AuthenticationFailed:
            # Checked first, throttled only when invalid: failures at an address never refuse
            # a valid token from it (exeml/api/throttling.py).
            wait = FailedTokenThrottle().failed(request, hash_token(key))
            if wait is not None:
                raise exceptions.Throttled(wait=wait) from None
            raise
        return token.user, token

    def authenticate_header(self, request) -> str:
        # Makes DRF answer 401 (not 403) for missing credentials.
        return self.keyword


class CachedApiTokenAuthentication(ApiTokenAuthentication):
    """The inference hot path: a token seen in the last EXEML_AUTH_CACHE_SECONDS costs no
    query (token, user, membership come from this process's memory). Revoking a token (or
    removing a membership, deactivating a user) through any process is seen by every web
    process within EXEML_GENERATION_CHECK_SECONDS (exeml/tenancy/tokencache.py)."""

    def authenticate(self, request):
        key = token_from_headers(request)
        if key is None:
            return None
        key_hash = hash_token(key)
        hit = auth_cache.get(key_hash)
        if hit is None:
            generation = auth_cache.generation()  # before the rows: a change in between shows
            result = super().authenticate(request)
            token = result[1]
            membership = Membership.objects.select_related("tenant").filter(user=token.user, tenant=token.tenant).first()
            if membership is None:
                raise exceptions.AuthenticationFailed("The token's user is no longer a member of its tenant.")
            auth_cache.put(key_hash, (token, membership), generation)
            hit = token, membership
        token, membership = hit
        request._request.exeml_membership = membership  # read by resolve_membership
        return token.user, token


class TenantSessionAuthentication(authentication.SessionAuthentication):
    """Session login (the console); CSRF enforced for unsafe methods as usual."""

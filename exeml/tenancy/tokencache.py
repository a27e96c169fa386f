"""Per-process cache of checked API tokens (the inference hot path); revoke() forgets here."""

from __future__ import annotations

from typing import TYPE_CHECKING

from exeml.ttlcache import TTLCache

if TYPE_CHECKING:
    from exeml.tenancy.models import ApiToken, Membership

# token hash -> (token, membership); no pickling.
auth_cache: TTLCache[str, tuple[ApiToken, Membership]] = TTLCache("EXEML_AUTH_CACHE_SECONDS")

"""Per-process cache of checked API tokens (the inference hot path), valid across processes.

A kept token is used only while the global auth generation read before it still holds: a
token revoked, a membership removed or changed, a user deactivated through any process
(``auth_changed``) is refused by every web process within EXEML_GENERATION_CHECK_SECONDS
(exeml/generation.py), not after EXEML_AUTH_CACHE_SECONDS.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from exeml.generation import UNREADABLE, GlobalGeneration
from exeml.ttlcache import TTLCache

if TYPE_CHECKING:
    from exeml.tenancy.models import ApiToken, Membership

auth_generation = GlobalGeneration("auth-generation")


class AuthCache:
    """token hash -> (token, membership), each with the generation read before its rows."""

    def __init__(self) -> None:
        self._rows: TTLCache[str, tuple[ApiToken, Membership, object]] = TTLCache("EXEML_AUTH_CACHE_SECONDS")

    def generation(self) -> object:
        """Read before the rows that ``put`` keeps."""
        return auth_generation.current()

    def get(self, key_hash: str) -> tuple[ApiToken, Membership] | None:
        row = self._rows.get(key_hash)
        if row is None:
            return None
        if row[2] is UNREADABLE or row[2] != auth_generation.current():
            self._rows.forget(key_hash)  # changed elsewhere (revoked, membership removed, …)
            return None
        return row[0], row[1]

    def put(self, key_hash: str, value: tuple[ApiToken, Membership], generation: object) -> None:
        if generation is not UNREADABLE:
            self._rows.put(key_hash, (value[0], value[1], generation))

    def forget(self, key_hash: str) -> None:
        self._rows.forget(key_hash)

    def clear(self) -> None:
        self._rows.clear()


auth_cache = AuthCache()


def auth_changed() -> None:
    """Tell every process that some token, membership or user changed."""
    auth_generation.bump()

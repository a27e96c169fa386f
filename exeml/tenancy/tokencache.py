"""Per-process cache of checked API tokens (the inference hot path); revoke() forgets here."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

from django.conf import settings

if TYPE_CHECKING:
    from exeml.tenancy.models import ApiToken, Membership


class _AuthCache:
    """Per process: token hash -> (token, membership, expiry). No pickling, bounded."""

    MAX_ENTRIES = 10_000

    def __init__(self) -> None:
        self._rows: dict[str, tuple[ApiToken, Membership, float]] = {}
        self._lock = threading.Lock()

    def get(self, key_hash: str) -> tuple[ApiToken, Membership] | None:
        row = self._rows.get(key_hash)
        if row is None or row[2] < time.monotonic():
            return None
        return row[0], row[1]

    def put(self, key_hash: str, token: ApiToken, membership: Membership) -> None:
        ttl = float(settings.EXEML_AUTH_CACHE_SECONDS)
        if ttl <= 0:
            return
        with self._lock:
            if len(self._rows) >= self.MAX_ENTRIES:
                self._rows.clear()
            self._rows[key_hash] = (token, membership, time.monotonic() + ttl)

    def forget(self, key_hash: str) -> None:
        with self._lock:
            self._rows.pop(key_hash, None)

    def clear(self) -> None:
        with self._lock:
            self._rows.clear()


auth_cache = _AuthCache()

"""A per-process, bounded, thread-safe map whose entries live for a number of seconds.

The hot paths (API tokens, running services) keep rows in memory for a few seconds instead
of reading them per request. The lifetime is read from a setting at each ``put``, so a test
or an operator setting it to 0 turns the cache off without a restart.
"""

from __future__ import annotations

import threading
import time
from typing import Generic, TypeVar

from django.conf import settings

K = TypeVar("K")
V = TypeVar("V")


class TTLCache(Generic[K, V]):
    def __init__(self, ttl_setting: str, *, max_entries: int = 10_000) -> None:
        self.ttl_setting = ttl_setting
        self.max_entries = max_entries
        self._rows: dict[K, tuple[V, float]] = {}
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        row = self._rows.get(key)  # a dict read is atomic: no lock on the hot path
        if row is None or row[1] < time.monotonic():
            return None
        return row[0]

    def put(self, key: K, value: V) -> None:
        ttl = float(getattr(settings, self.ttl_setting))
        if ttl <= 0:
            return
        with self._lock:
            if len(self._rows) >= self.max_entries:
                self._rows.clear()  # bounded: a flood of keys costs a refill, never memory
            self._rows[key] = (value, time.monotonic() + ttl)

    def forget(self, key: K) -> None:
        with self._lock:
            self._rows.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._rows.clear()

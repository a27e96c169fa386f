"""Generations in the shared cache: how every process learns at once that a row it keeps in
memory changed through another process (on another host).

A process keeps rows (checked API tokens, running services) in memory for a few seconds
instead of reading them per request. Whoever changes such a row writes a new generation
into the "shared" cache (Redis in the distributed shape, a folder under EXEML_HOME on the
embedded default, where every process runs on one host); a kept row is used only while the
generation read before the row still holds. A global generation (one key for all API
tokens) is read at most once per ``EXEML_GENERATION_CHECK_SECONDS`` per process, so the
hot path pays a clock read, not a round trip, and a change is seen everywhere within that
time. An unreadable shared cache means "no memory": the row is read from the database.
"""

from __future__ import annotations

import threading
import time
import uuid

from django.conf import settings
from django.core.cache import caches
from django.db import transaction

UNREADABLE = object()


def read(key: str) -> object:
    """The generation under ``key`` (None if never written); UNREADABLE when the cache fails."""
    try:
        return caches["shared"].get(key)
    except Exception:  # Redis down, a cache file half-written: the caller reads the database
        return UNREADABLE


def write(key: str) -> None:
    try:
        caches["shared"].set(key, uuid.uuid4().hex, timeout=None)
    except Exception:  # the other processes then see the change when their rows expire
        pass


class GlobalGeneration:
    """One generation for a whole family of kept rows, read at most every N seconds."""

    def __init__(self, key: str) -> None:
        self.key = key
        self._value: object = UNREADABLE
        self._read_at = -1e9
        self._lock = threading.Lock()

    def current(self) -> object:
        value, read_at = self._value, self._read_at  # each read atomic; a torn pair only re-reads
        if time.monotonic() - read_at < settings.EXEML_GENERATION_CHECK_SECONDS:
            return value
        with self._lock:
            value = read(self.key)
            self._value, self._read_at = value, time.monotonic()
        return value

    def bump(self) -> None:
        """A new generation now and once more when the surrounding transaction commits: a
        process that read the old row before the commit must not keep it under the new one."""

        def changed() -> None:
            write(self.key)
            self._read_at = -1e9  # this process sees its own change at once

        changed()
        transaction.on_commit(changed)

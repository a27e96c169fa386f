"""Per-process cache of running services: the inference hot path reads no database row.

A request needs the service, its version (artifact, tenant), project task type and flavor;
reading them costs a query per request, more than a tabular prediction on SQLite. Only
running services are kept, for EXEML_SERVICE_LOOKUP_CACHE_SECONDS: a service that starts
is seen at once (nothing cached for it), a status change in this process forgets the entry
at once (and again at commit, so a concurrent request cannot re-cache the old row), and a
stop made in another process (the API on another web process, beat's auto-stop) is seen
within those seconds. The expiry time (``stop_at``) is checked on every request from the
cached row, so a timed auto-stop still refuses at once.
"""

from __future__ import annotations

import threading
import time
import uuid
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction

if TYPE_CHECKING:
    from serving.models import Service


class ServiceLookupCache:
    MAX_ENTRIES = 10_000

    def __init__(self) -> None:
        self._rows: dict[str, tuple[Service, float]] = {}
        self._lock = threading.Lock()

    def get(self, service_id: uuid.UUID | str, *, tenant_id: uuid.UUID) -> Service | None:
        row = self._rows.get(str(service_id))
        if row is None or row[1] < time.monotonic():
            return None
        service = row[0]
        # Another tenant's id is a miss: the tenant-scoped query then answers 404.
        return service if service.tenant_id == tenant_id else None

    def put(self, service: Service) -> None:
        ttl = float(settings.EXEML_SERVICE_LOOKUP_CACHE_SECONDS)
        if ttl <= 0:
            return
        with self._lock:
            if len(self._rows) >= self.MAX_ENTRIES:
                self._rows.clear()
            self._rows[str(service.pk)] = (service, time.monotonic() + ttl)

    def forget(self, service_id: uuid.UUID | str) -> None:
        with self._lock:
            self._rows.pop(str(service_id), None)

    def clear(self) -> None:
        with self._lock:
            self._rows.clear()


service_lookup_cache = ServiceLookupCache()


def service_forget(service_id: uuid.UUID | str) -> None:
    """Forget now and once more when the surrounding transaction commits: a request that
    read the old row before the commit must not keep it for the TTL."""
    service_lookup_cache.forget(service_id)
    transaction.on_commit(lambda: service_lookup_cache.forget(service_id))

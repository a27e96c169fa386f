"""Per-process cache of running services: the inference hot path reads no database row.

A request needs the service, its version (artifact, tenant), project task type and flavor;
reading them costs a query per request, more than a tabular prediction on SQLite. Only
running services are kept, for at most EXEML_SERVICE_LOOKUP_CACHE_SECONDS. Every status
change writes a new generation for the service into the "shared" cache (Redis in the
distributed shape, a folder under EXEML_HOME on the embedded default), and a cached row is
used only while the generation read before its row still holds: a stop or delete through any
process is seen by every web process at once, for one cache read instead of a query. A row
changed behind ``service_transition``'s back, or an unreadable shared cache, falls back to
the lifetime / the database. The expiry time (``stop_at``) is checked on every request.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from django.db import transaction

from exeml import generation
from exeml.generation import UNREADABLE as _UNREADABLE
from exeml.ttlcache import TTLCache

if TYPE_CHECKING:
    from serving.models import Service


def _generation_key(service_id: uuid.UUID | str) -> str:
    return f"service-generation:{service_id}"


def service_generation(service_id: uuid.UUID | str) -> object:
    """The service's current generation in the shared cache (None if never written);
    ``_UNREADABLE`` when the cache cannot be read (exeml/generation.py)."""
    return generation.read(_generation_key(service_id))


class ServiceLookupCache:
    """Running services by id, each with the generation read before its row."""

    def __init__(self) -> None:
        self._rows: TTLCache[str, tuple[Service, object]] = TTLCache("EXEML_SERVICE_LOOKUP_CACHE_SECONDS")

    def get(self, service_id: uuid.UUID | str, *, tenant_id: uuid.UUID) -> Service | None:
        row = self._rows.get(str(service_id))
        if row is None:
            return None
        service, generation = row
        # Another tenant's id is a miss: the tenant-scoped query then answers 404.
        if service.tenant_id != tenant_id:
            return None
        now = service_generation(service_id)
        if now is _UNREADABLE or now != generation:
            self.forget(service_id)  # changed elsewhere (stopped, deleted, redeployed)
            return None
        return service

    def put(self, service: Service, generation: object) -> None:
        """Keep ``service``, read after ``generation`` was (so a change in between is seen)."""
        if generation is not _UNREADABLE:
            self._rows.put(str(service.pk), (service, generation))

    def forget(self, service_id: uuid.UUID | str) -> None:
        self._rows.forget(str(service_id))

    def clear(self) -> None:
        self._rows.clear()


service_lookup_cache = ServiceLookupCache()


def _new_generation(service_id: uuid.UUID | str) -> None:
    generation.write(_generation_key(service_id))  # unwritable: others see it within the TTL


def service_forget(service_id: uuid.UUID | str) -> None:
    """Forget now and once more when the surrounding transaction commits (a request that
    read the old row before the commit must not keep it), and tell every other process
    through a new generation."""

    def changed() -> None:
        service_lookup_cache.forget(service_id)
        _new_generation(service_id)

    changed()
    transaction.on_commit(changed)

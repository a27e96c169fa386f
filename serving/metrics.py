"""Call accounting off the request's critical path.

Each web process buffers its calls (counts, and histogram increments per minute and since
start) and a daemon thread writes them in one transaction once a second (without the thread,
e.g. in tests, the request that finds the buffer older than the interval writes it). On the
embedded SQLite database three commits per call would otherwise cost more than the
prediction; counts still move by F() updates, so several processes never lose one. A flush
writes a handful of rows per service whatever the call rate: no row per call. The same write
carries the service's last call time, which the idle stop reads.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from django.db import IntegrityError, close_old_connections, connection, transaction
from django.db.models import F, Value
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from exeml.tenancy.scoping import unscoped
from serving.latency import bucket_of

log = logging.getLogger(__name__)

FLUSH_INTERVAL_SECONDS = 1.0


@dataclass
class _Pending:
    tenant_id: uuid.UUID
    calls: int = 0
    failures: int = 0
    last_at: datetime | None = None
    buckets: Counter = field(default_factory=Counter)  # since-start histogram increments
    # (minute, bucket) -> [calls, failures]
    minutes: dict[tuple[datetime, int], list[int]] = field(default_factory=dict)


class CallRecorder:
    def __init__(self, interval: float = FLUSH_INTERVAL_SECONDS, *, background: bool = True) -> None:
        self.interval = interval
        self.background = background
        self._pending: dict[uuid.UUID, _Pending] = {}
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._last_flush = 0.0
        self._thread: threading.Thread | None = None

    def record(self, *, service_id: uuid.UUID, tenant_id: uuid.UUID, latency_ms: float, ok: bool) -> None:
        now = timezone.now()
        bucket = bucket_of(latency_ms)
        with self._lock:
            entry = self._pending.get(service_id)
            if entry is None:
                entry = self._pending[service_id] = _Pending(tenant_id)
            entry.calls += 1
            entry.failures += 0 if ok else 1
            entry.last_at = now
            entry.buckets[bucket] += 1
            counts = entry.minutes.setdefault((now.replace(second=0, microsecond=0), bucket), [0, 0])
            counts[0] += 1
            counts[1] += 0 if ok else 1
            due = time.monotonic() - self._last_flush >= self.interval
        if self.background:
            self._ensure_thread()  # the flusher thread writes; the request never waits on a commit
        elif due:
            self.flush()

    def flush(self) -> int:
        """Write everything buffered; returns the number of calls written."""
        with self._flush_lock:
            with self._lock:
                pending, self._pending = self._pending, {}
                self._last_flush = time.monotonic()
            if not pending:
                return 0
            try:
                _write(pending)
            except Exception:  # accounting must never break serving; the calls are lost
                log.exception("could not write %d services' call records", len(pending))
                return 0
            return sum(p.calls for p in pending.values())

    def discard(self) -> None:
        with self._lock:
            self._pending = {}

    def _ensure_thread(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._thread = threading.Thread(target=self._loop, name="serving-call-flush", daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        while self.background:
            time.sleep(self.interval)
            with self._lock:
                idle = not self._pending
            if idle or not self.background:
                continue
            self.flush()
            close_old_connections()
            connection.close()  # this thread's own connection; reopened on the next flush


def _write(pending: dict[uuid.UUID, _Pending]) -> None:
    from serving.models import Service, ServiceCallMinute, ServiceLatencyBucket

    # The recorder's thread writes for every tenant's services: an explicit cross-tenant write.
    with unscoped(), transaction.atomic():
        for service_id, entry in pending.items():
            last = entry.last_at
            updated = Service.all_tenants.filter(pk=service_id).update(
                invocation_times=F("invocation_times") + entry.calls,
                failed_times=F("failed_times") + entry.failures,
                # Processes flush in any order: the last call time only moves forward.
                # Coalesce because SQLite's MAX(NULL, x) is NULL.
                last_call_at=Greatest(Coalesce(F("last_call_at"), Value(last)), Value(last)),
            )
            if not updated:
                continue  # deleted meanwhile
            for (minute, bucket), (calls, failures) in entry.minutes.items():
                _add(
                    ServiceCallMinute.all_tenants.filter(service_id=service_id, minute=minute, bucket=bucket),
                    {"calls": calls, "failures": failures},
                    tenant_id=entry.tenant_id, service_id=service_id, minute=minute, bucket=bucket,
                )
            for bucket, count in entry.buckets.items():
                _add(
                    ServiceLatencyBucket.all_tenants.filter(service_id=service_id, bucket=bucket),
                    {"count": count},
                    tenant_id=entry.tenant_id, service_id=service_id, bucket=bucket,
                )


def _add(rows, increments: dict[str, int], **identity) -> None:
    """Adds ``increments`` to the counter row ``rows`` selects (a unique key), creating it at
    those values when missing; another process may create it first."""
    added = {name: F(name) + value for name, value in increments.items()}
    if rows.update(**added):
        return
    try:
        with transaction.atomic():
            rows.model.all_tenants.create(**identity, **increments)
    except IntegrityError:
        rows.update(**added)


_recorder: CallRecorder | None = None
_recorder_guard = threading.Lock()


def call_recorder() -> CallRecorder:
    global _recorder
    with _recorder_guard:
        if _recorder is None:
            _recorder = CallRecorder()
            atexit.register(_recorder.flush)
        return _recorder


def record_call(*, service, latency_ms: float, ok: bool) -> None:
    call_recorder().record(service_id=service.pk, tenant_id=service.tenant_id, latency_ms=latency_ms, ok=ok)


def flush_calls() -> int:
    return call_recorder().flush()

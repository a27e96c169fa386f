"""A storage watch: when the oldest storage call of a job started, and a way to stop the job.

A job step runs inside ``watching(watch)``; every backend call goes through
``storage_call(what)``, which records its start in the current watch and drops it when it
returns. The job's heartbeat thread reads ``watch.trouble()`` to say "waiting for storage
(since …)" and, past the stall limit, stops the watch with ``StorageStalled``; a cancel stops
it with another exception. A stopped watch raises that exception at the next storage call or
``checkpoint()``, and in place of whatever a call blocked meanwhile ends with, so a worker
stuck on a hung endpoint ends with the reason, not with a retry.

Threads do not inherit the current watch: start them with ``contextvars.copy_context().run``.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime

from .base import StorageError, TransientStorageError

__all__ = ["StorageStalled", "StorageTrouble", "StorageWatch", "checkpoint", "storage_call", "watching"]


class StorageStalled(StorageError):
    """The storage did not answer within the stall limit: not transient, never retried."""


@dataclass(frozen=True)
class StorageTrouble:
    since: datetime  # the start of the oldest unanswered call (or of the run of failed ones)
    seconds: float
    what: str


class StorageWatch:
    def __init__(self, *, waiting_since: datetime | None = None) -> None:
        self._lock = threading.Lock()
        self._ids = itertools.count()
        self._calls: dict[int, tuple[float, str]] = {}  # id -> (start, what); start in time.time()
        # Failed calls with no success since (a retried task carries it in): the trouble goes on.
        self._failing: tuple[float, str] | None = (
            (waiting_since.timestamp(), "") if waiting_since else None
        )
        self._stop: BaseException | None = None

    # ---------------------------------------------------------------- calls

    @contextmanager
    def call(self, what: str) -> Iterator[Callable[..., None]]:
        """Record one call; the yielded function marks progress (a long transfer moving on)."""
        self.check()
        start = time.time()
        with self._lock:
            token = next(self._ids)
            self._calls[token] = (start, what)

        def alive(*_: object) -> None:
            with self._lock:
                if token in self._calls:
                    self._calls[token] = (time.time(), what)

        try:
            yield alive
        except BaseException as exc:
            with self._lock:
                self._calls.pop(token, None)
                if self._failing is None and isinstance(exc, TransientStorageError):
                    self._failing = (start, what)
                stop = self._stop
            if stop is not None and not isinstance(exc, type(stop)):
                raise _fresh(stop) from exc  # what the call ended with no longer matters
            raise
        with self._lock:
            self._calls.pop(token, None)
            self._failing = None

    def trouble(self) -> StorageTrouble | None:
        """While a call is unanswered: since when (counting from the first of the calls that
        failed since the last success) and which call waits. Work that needs no storage is no
        trouble."""
        with self._lock:
            calls = list(self._calls.values())
            failing = self._failing
        if not calls:
            return None
        start, what = min(calls)
        if failing is not None:
            start = min(start, failing[0])
        return StorageTrouble(
            since=datetime.fromtimestamp(start, UTC), seconds=max(0.0, time.time() - start), what=what
        )

    def waiting_since(self) -> datetime | None:
        """What a retry of the job carries in: the start of failed calls with no success since."""
        with self._lock:
            failing = self._failing
        return datetime.fromtimestamp(failing[0], UTC) if failing else None

    # ---------------------------------------------------------------- stopping

    def stop(self, exc: BaseException) -> None:
        with self._lock:
            if self._stop is None:
                self._stop = exc

    @property
    def stopped(self) -> BaseException | None:
        return self._stop

    def check(self) -> None:
        if self._stop is not None:
            raise _fresh(self._stop)


_current: ContextVar[StorageWatch | None] = ContextVar("exeml_storage_watch", default=None)


@contextmanager
def watching(watch: StorageWatch) -> Iterator[StorageWatch]:
    token = _current.set(watch)
    try:
        yield watch
    finally:
        _current.reset(token)


@contextmanager
def storage_call(what: str) -> Iterator[Callable[..., None]]:
    """Wrap one backend call; outside a watched job step it does nothing."""
    watch = _current.get()
    if watch is None:
        yield _noop
        return
    with watch.call(what) as alive:
        yield alive


def checkpoint() -> None:
    """Raise the reason the current job step must stop (cancelled, storage stalled), if any."""
    watch = _current.get()
    if watch is not None:
        watch.check()


def _fresh(exc: BaseException) -> BaseException:
    # One instance per raise: threads raising the same object would share its traceback.
    try:
        return type(exc)(*exc.args)
    except Exception:  # noqa: BLE001 - an exception class with another signature
        return exc


def _noop(*_: object) -> None:
    return None


def stall_timeouts(stall_seconds: float) -> tuple[float, float]:
    """Connect and read timeouts that keep one call, with its 3 attempts, within the stall limit."""
    connect = min(10.0, max(1.0, stall_seconds / 10))
    read = min(60.0, max(1.0, stall_seconds / 5))
    return connect, read


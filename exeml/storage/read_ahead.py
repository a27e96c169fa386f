"""Reading a store's listing one page ahead, in a thread.

A listing is a chain of requests, each needing the previous answer's continuation token, and
a sync works on each page between two of them. Done in turn, the store's time and ours add
up: a re-sync with nothing changed was its 40 list requests plus our comparison of each page,
one after the other. Fetching the next page while the current one is compared overlaps the
two (the store answers on its own CPU or across the network), so a re-sync costs about the
larger of the two rather than their sum.

The producer thread only iterates the given iterator (store requests, no database): Django's
connections are per thread, and the caller's stay in the caller's thread. It runs in a copy of
the caller's context, so its storage calls count in the job's storage watch
(exeml/storage/watch.py: "waiting for storage (since …)", the stall limit), and the caller
waits for each page in short slices, calling its ``checkpoint`` between them, so a cancel or a
stall stops it while the producer is still blocked on the store.
"""

from __future__ import annotations

import contextvars
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")

_DONE = object()
# How often a producer blocked on a full queue looks whether its consumer went away.
_POLL_SECONDS = 0.5


class _Failed:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


def read_ahead(
    items: Iterable[T], *, depth: int = 1, name: str = "read-ahead", checkpoint: Callable[[], None] | None = None,
    wait_seconds: float = _POLL_SECONDS,
) -> Iterator[T]:
    """``items`` in order, the next ``depth`` of them fetched while the caller works on the
    current one. An exception raised while fetching is raised here, after the items before
    it. While it waits for an item, ``checkpoint`` is called every ``wait_seconds`` (what it
    raises ends the iteration). When the caller stops early (break, an exception, a cancelled
    job), the producer stops after the item it is fetching and closes ``items`` in its own
    thread."""
    if depth < 1:
        raise ValueError("depth must be at least 1")
    ahead: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                ahead.put(item, timeout=_POLL_SECONDS)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        source = iter(items)
        try:
            for item in source:
                if not put(item):
                    return
            put(_DONE)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, raised there
            put(_Failed(exc))
        finally:
            close = getattr(source, "close", None)
            if close is not None:
                close()

    ctx = contextvars.copy_context()
    threading.Thread(target=ctx.run, args=(produce,), name=name, daemon=True).start()
    try:
        while True:
            while True:
                if checkpoint is not None:
                    checkpoint()
                try:
                    item = ahead.get(timeout=wait_seconds)
                    break
                except queue.Empty:
                    continue
            if item is _DONE:
                return
            if isinstance(item, _Failed):
                raise item.exc
            yield item
    finally:
        # A producer in the middle of a request finishes it, sees this and ends: not joined,
        # so a cancel is not held up by a slow store.
        stop.set()

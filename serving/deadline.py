"""The inference deadline, kept without handing the prediction to another thread.

A prediction runs in the request's own thread. Each one registers its deadline here with a
fresh onnxruntime ``RunOptions``; one watchdog thread per process looks at the registered
calls every ``CHECK_INTERVAL_S`` and sets ``terminate`` on those past their deadline, which
makes onnxruntime abandon the run between two operators. Registering takes a lock and a dict
insert, no wake-up: handing every prediction to a pool thread and back cost ~0.25 ms per
call (docs/benchmarks.md, 2026-12-03), more than everything else the web process adds to it.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

CHECK_INTERVAL_S = 0.25


class DeadlineWatch:
    def __init__(self, interval: float = CHECK_INTERVAL_S) -> None:
        self.interval = interval
        self._calls: dict[int, tuple[float, Any]] = {}
        self._keys = itertools.count()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @contextmanager
    def watch(self, seconds: float) -> Iterator[Any]:
        """The ``RunOptions`` of one prediction, terminated ``seconds`` from now (give or take
        the check interval) unless the block has ended."""
        import onnxruntime as ort

        options = ort.RunOptions()
        key = next(self._keys)
        with self._lock:
            self._calls[key] = (time.monotonic() + seconds, options)
        self._ensure_thread()
        try:
            yield options
        finally:
            with self._lock:
                self._calls.pop(key, None)

    def _ensure_thread(self) -> None:
        thread = self._thread
        if thread is not None and thread.is_alive():
            return
        with self._lock:  # a forked web process inherits the object but not the thread
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="inference-deadline", daemon=True)
                self._thread.start()

    def _loop(self) -> None:
        while True:
            time.sleep(self.interval)
            now = time.monotonic()
            with self._lock:
                due = [options for deadline, options in self._calls.values() if deadline <= now]
            for options in due:
                options.terminate = True


_watch = DeadlineWatch()


def deadline_watch() -> DeadlineWatch:
    return _watch

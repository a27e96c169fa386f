"""The bounded copy of a training log kept on the version row, so any web host can serve it.

A long run logs thousands of lines (one per candidate, per repeat, per epoch). Keeping only the
last lines loses the ones a user reads first when a run goes wrong: the data it trained on, the
folds, the publish it waited for. So the row keeps the first ``HEAD_LINES`` and the last
``TAIL_LINES`` with one marker line between them saying how many were left out; the whole log
is ``train.log`` beside the artifact.
"""

from __future__ import annotations

import collections
from collections.abc import Iterable

HEAD_LINES = 60
TAIL_LINES = 440
MARKER_PREFIX = "… "
MARKER_SUFFIX = " lines not kept here; the whole log is train.log beside the model"


def marker(omitted: int) -> str:
    return f"{MARKER_PREFIX}{omitted}{MARKER_SUFFIX}"


def omitted_in(line: str) -> int | None:
    """The count a marker line carries, or None for an ordinary line."""
    if line.startswith(MARKER_PREFIX) and line.endswith(MARKER_SUFFIX):
        number = line[len(MARKER_PREFIX):-len(MARKER_SUFFIX)]
        if number.isdigit():
            return int(number)
    return None


class LogBuffer:
    """Head, marker, tail: appended one line at a time (the worker's log handler)."""

    def __init__(self, lines: Iterable[str] = ()) -> None:
        self.head: list[str] = []
        self.tail: collections.deque[str] = collections.deque(maxlen=TAIL_LINES)
        self.omitted = 0
        for line in lines:
            count = omitted_in(line)
            if count is not None:
                self.omitted += count  # a row that was already cut keeps its count
            else:
                self.append(line)

    def append(self, line: str) -> None:
        if len(self.head) < HEAD_LINES and not self.omitted and not self.tail:
            self.head.append(line)
            return
        if len(self.tail) == self.tail.maxlen:
            self.omitted += 1
        self.tail.append(line)

    def lines(self) -> list[str]:
        middle = [marker(self.omitted)] if self.omitted else []
        return [*self.head, *middle, *self.tail]


def bounded(lines: Iterable[str]) -> list[str]:
    """``lines`` as the row keeps them: head, marker, tail."""
    return LogBuffer(lines).lines()

"""read_ahead: a listing fetched one page ahead in a thread, in order, failures and early
stops handed over."""

from __future__ import annotations

import contextvars
import threading

import pytest

from exeml.storage.read_ahead import read_ahead

WAIT = 10.0  # a guard against a hang, not a timing


def test_every_item_in_order() -> None:
    assert list(read_ahead(iter(range(50)))) == list(range(50))
    assert list(read_ahead([], depth=3)) == []


def test_the_next_item_is_fetched_before_the_caller_asks_for_it() -> None:
    asked_for_second = threading.Event()

    def pages():
        yield "first"
        asked_for_second.set()
        yield "second"

    it = read_ahead(pages())
    assert next(it) == "first"
    # The consumer has not asked for the second page: the producer fetched it by itself.
    assert asked_for_second.wait(WAIT)
    assert list(it) == ["second"]


def test_a_failure_is_raised_after_the_items_before_it() -> None:
    def pages():
        yield 1
        yield 2
        raise LookupError("the bucket is gone")

    got = []
    with pytest.raises(LookupError, match="the bucket is gone"):
        for item in read_ahead(pages()):
            got.append(item)
    assert got == [1, 2]


def test_stopping_early_closes_the_source_in_its_thread() -> None:
    closed = threading.Event()
    produced = []

    def pages():
        try:
            for i in range(1000):
                produced.append(i)
                yield i
        finally:
            closed.set()

    for item in read_ahead(pages(), depth=2):
        if item == 3:
            break
    assert closed.wait(WAIT)
    # It ran at most a few items ahead of the consumer, not to the end.
    assert max(produced) <= 3 + 2 + 1


def test_an_exception_in_the_caller_stops_the_producer() -> None:
    closed = threading.Event()

    def pages():
        try:
            i = 0
            while True:
                yield i
                i += 1
        finally:
            closed.set()

    with pytest.raises(RuntimeError):
        for item in read_ahead(pages()):
            if item == 5:
                raise RuntimeError("job cancelled")
    assert closed.wait(WAIT)


def test_depth_must_be_positive() -> None:
    with pytest.raises(ValueError, match="depth"):
        list(read_ahead([1], depth=0))


def test_the_producer_runs_in_the_callers_context() -> None:
    # The job's storage watch is a context variable: the listing's calls must count in it.
    var: contextvars.ContextVar[str] = contextvars.ContextVar("var", default="unset")
    var.set("the job's watch")

    def pages():
        yield var.get()

    assert list(read_ahead(pages())) == ["the job's watch"]


def test_a_checkpoint_stops_the_wait_for_a_page_that_does_not_come() -> None:
    release = threading.Event()
    closed = threading.Event()
    checks = []

    def pages():
        try:
            yield "first"
            release.wait(WAIT)  # a listing request with no answer
            yield "second"
        finally:
            closed.set()

    def checkpoint() -> None:
        checks.append(1)
        if len(checks) >= 3:
            raise TimeoutError("storage did not answer")

    it = read_ahead(pages(), checkpoint=checkpoint, wait_seconds=0.01)
    assert next(it) == "first"
    with pytest.raises(TimeoutError, match="did not answer"):
        next(it)
    release.set()  # the hung request ends; the producer sees the caller gone and closes
    assert closed.wait(WAIT)

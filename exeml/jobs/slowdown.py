"""The hooks a test uses to slow a job down on the real worker, so that it can watch progress,
cancel midway or kill the worker: a delay the test sets in the shared cache, read only when
``EXEML_TEST_HOOKS`` is on, and a sleep that still notices a cancel."""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import caches

from exeml.jobs.services import job_checkpoint


def delay_for_tests(key: str) -> float:
    """Seconds (per row, per sample: the caller's unit) a test asked for under ``key``; 0 in
    production."""
    if not settings.EXEML_TEST_HOOKS:
        return 0.0
    return float(caches["shared"].get(key) or 0.0)


def cancellable_sleep(seconds: float) -> None:
    end = time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        time.sleep(min(0.2, left))
        job_checkpoint()

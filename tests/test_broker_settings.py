"""Broker settings that fit long tasks."""

from __future__ import annotations

import pytest
from django.conf import settings

from exeml.celery import app


@pytest.mark.skipif(not settings.CELERY_BROKER_URL.startswith("redis"), reason="Redis broker only")
def test_redis_visibility_timeout_outlasts_the_longest_training():
    options = app.conf.broker_transport_options
    assert options["visibility_timeout"] > settings.EXEML_MAX_TRAIN_MINUTES * 60
    # Tasks are acknowledged late, so the timeout is what keeps a long training from running twice.
    assert app.conf.task_acks_late is True and app.conf.task_reject_on_worker_lost is True

"""Database helpers shared by bulk writers."""

from __future__ import annotations

import time

from django.conf import settings
from django.db import connection


def yield_to_other_writers() -> None:
    """Between two write batches, let a waiting writer in (SQLite only).

    SQLite has one writer at a time and its busy handler retries every 100 ms once a
    writer has waited a while: a bulk import that commits and begins again at once keeps
    winning the lock and starves other tenants' requests. A pause longer than that retry
    interval hands the lock over. PostgreSQL locks rows, not the database: no pause.
    """
    if connection.vendor == "sqlite":
        time.sleep(settings.EXEML_SQLITE_WRITER_PAUSE_SECONDS)

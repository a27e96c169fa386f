"""Database helpers shared by bulk writers."""

from __future__ import annotations

import time
from collections.abc import Iterator

from django.conf import settings
from django.db import connection, transaction
from django.db.models import QuerySet


def yield_to_other_writers() -> None:
    """Between two write batches, let a waiting writer in (SQLite only).

    SQLite has one writer at a time and its busy handler retries every 100 ms once a
    writer has waited a while: a bulk import that commits and begins again at once keeps
    winning the lock and starves other tenants' requests. A pause longer than that retry
    interval hands the lock over. PostgreSQL locks rows, not the database: no pause.
    """
    if connection.vendor == "sqlite":
        time.sleep(settings.EXEML_SQLITE_WRITER_PAUSE_SECONDS)


def delete_in_batches(rows: QuerySet, *, batch: int | None = None) -> Iterator[int]:
    """Deletes what ``rows`` selects, ``batch`` rows (default EXEML_IMPORT_BATCH_ROWS) per
    transaction, each with its cascades, letting other writers in between two full batches;
    yields each batch's size as it goes (the caller may report progress or stop)."""
    size = max(1, int(batch or settings.EXEML_IMPORT_BATCH_ROWS))
    while True:
        ids = list(rows.values_list("pk", flat=True)[:size])
        if not ids:
            return
        # The ids come from ``rows`` (already scoped by the caller): delete exactly those.
        with transaction.atomic():
            rows.model._base_manager.filter(pk__in=ids).delete()
        yield len(ids)
        if len(ids) == size:
            yield_to_other_writers()

"""Database helpers shared by bulk writers."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from typing import Any

from django.conf import settings
from django.db import connection, connections, router, transaction
from django.db.models import Model, QuerySet
from django.utils import timezone

# SQLite's busy handler (sqlite3_busy_timeout) sleeps 1, 2, 5, 10, 15, 20, 25, 25, 25, 50,
# 50, then 100 ms between a waiting writer's tries: after waiting t seconds, its next try
# comes within max(25 ms, t / 2). A waiter that began during our last transaction has
# waited at most that transaction's time, so a pause of half of it (at least 25 ms, plus a
# margin) lets it in; the configured pause (>= 100 ms, the handler's longest sleep) is the cap.
_MIN_PAUSE_SECONDS = 0.03
_PAUSE_MARGIN_SECONDS = 0.01


def writer_pause_seconds(held_seconds: float | None) -> float:
    """The pause that hands the SQLite lock to a writer that waited ``held_seconds`` at most."""
    cap = float(settings.EXEML_SQLITE_WRITER_PAUSE_SECONDS)
    if held_seconds is None:
        return cap
    return min(cap, max(_MIN_PAUSE_SECONDS, held_seconds / 2 + _PAUSE_MARGIN_SECONDS))


def yield_to_other_writers(held_seconds: float | None = None) -> None:
    """Between two write batches, let a waiting writer in (SQLite only).

    SQLite has one writer at a time: a bulk import that commits and begins again at once
    keeps winning the lock and starves other tenants' requests. A pause longer than a
    waiting writer's next retry hands the lock over; ``held_seconds`` (how long the last
    batch held the lock) sizes it, so a fast batch pays a short pause (writer_pause_seconds).
    PostgreSQL locks rows, not the database: no pause.
    """
    if connection.vendor == "sqlite":
        time.sleep(writer_pause_seconds(held_seconds))


class PreparedInsert:
    """An INSERT of rows already converted for the database: ``execute`` only sends them, so
    a caller can convert outside its transaction and hold the database only for the writes."""

    def __init__(self, conn: Any, sql: str, array_sql: str, rows: list[tuple[Any, ...]],
                 objs: Sequence[Model]) -> None:
        self.conn, self.sql, self.array_sql, self.rows, self.objs = conn, sql, array_sql, rows, objs

    def execute(self) -> None:
        if not self.rows:
            return
        with self.conn.cursor() as cursor:
            if self.conn.vendor == "sqlite":
                # Row-level triggers only, and its statements prepared once: one row a statement.
                cursor.executemany(self.sql, self.rows)
            else:
                # All rows in one statement: PostgreSQL's statement-level triggers (counters)
                # run once for the batch. One array a column (unnest), so the statement's text
                # stays short and the same from batch to batch, whatever the row count.
                cursor.execute(self.array_sql, [list(column) for column in zip(*self.rows, strict=True)])
        for obj in self.objs:
            obj._state.adding = False
            obj._state.db = self.conn.alias


def prepare_insert(objs: Sequence[Model]) -> PreparedInsert:
    """An INSERT of new model instances: SQLite, one prepared statement run over them all
    (executemany); PostgreSQL, one statement for them all (a column array each).

    For imports of many rows whose values are already checked: ``bulk_create`` builds one
    SQL text per batch with a placeholder per value (SQLite: at most 999 of them, so a few
    dozen rows a statement), most of an import's time. Every concrete field is written;
    primary keys must be set (UUID defaults are, at instantiation). auto_now(_add) fields
    take one timestamp for the call. Values equal by identity from one row to the next (the
    dataset, the tenant, the timestamp) are converted for the database once. Database
    triggers fire per row, as for any INSERT. The instances are left as saved ones.
    """
    if not objs:
        return PreparedInsert(connection, "", "", [], [])
    model = type(objs[0])
    conn = connections[router.db_for_write(model)]
    fields = list(model._meta.concrete_fields)
    now = timezone.now()
    for f in fields:
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            for obj in objs:
                setattr(obj, f.attname, now)
    qn = conn.ops.quote_name
    head = f"INSERT INTO {qn(model._meta.db_table)} ({', '.join(qn(f.column) for f in fields)}) "
    sql = head + f"VALUES ({', '.join(['%s'] * len(fields))})"
    array_sql = ""
    if conn.vendor == "postgresql":
        array_sql = head + f"SELECT * FROM unnest({', '.join(f'%s::{f.cast_db_type(conn)}[]' for f in fields)})"
    attnames = [f.attname for f in fields]
    preps = [f.get_db_prep_save for f in fields]
    last_raw: list[Any] = [object()] * len(fields)
    last_db: list[Any] = [None] * len(fields)
    rows: list[tuple[Any, ...]] = []
    for obj in objs:
        if obj.pk is None:
            raise ValueError(f"{model.__name__} without a primary key: prepare_insert writes the key it is given")
        values = obj.__dict__
        row = []
        for i, name in enumerate(attnames):
            raw = values[name]
            if raw is not last_raw[i]:
                last_raw[i], last_db[i] = raw, preps[i](raw, conn)
            row.append(last_db[i])
        rows.append(tuple(row))
    return PreparedInsert(conn, sql, array_sql, rows, objs)


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

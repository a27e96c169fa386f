"""Keyset (cursor) pagination: a page costs the same at any depth.

A page is ``WHERE (k1, k2, ...) > (last row's keys) ORDER BY k1, k2, ... LIMIT size + 1``:
with an index on the keys (behind the queryset's equality filters) the database starts at
the cursor instead of counting its way there, so page 5,000 costs what page 1 costs.
The cursor is opaque to clients (base64 of the keys and a direction); they follow the
``next``/``previous`` links. ``?page=N`` stays as a compatibility path (OFFSET: its cost
grows with N), and its links are cursors too, so a client that follows links leaves it at once.

``count`` comes from the view when it has a cheap exact figure (maintained counters), else
an exact count up to ``COUNT_CAP`` rows and beyond that an estimate; ``count_is_estimate``
says which.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connections
from django.db.models import BooleanField, Expression, F, QuerySet, Value
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.pagination import BasePagination
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from exeml.errors import ApplicationError

# Exact counts up to this many rows; beyond, an estimate (labelled as such).
COUNT_CAP = 10_000


class RowCompare(Expression):
    """``(a, b, c) > (x, y, z)``: a row-value comparison, which both PostgreSQL and SQLite
    (3.15+) evaluate as one condition and PostgreSQL turns into a single btree range."""

    conditional = True
    output_field = BooleanField()

    def __init__(self, lhs: Sequence[Any], op: str, rhs: Sequence[Any]) -> None:
        super().__init__()
        if op not in ("<", ">"):
            raise ValueError(op)
        self.lhs, self.op, self.rhs = list(lhs), op, list(rhs)

    def get_source_expressions(self) -> list[Any]:
        return [*self.lhs, *self.rhs]

    def set_source_expressions(self, exprs: Sequence[Any]) -> None:
        n = len(self.lhs)
        self.lhs, self.rhs = list(exprs[:n]), list(exprs[n:])

    def as_sql(self, compiler, connection):
        left = [compiler.compile(e) for e in self.lhs]
        right = [compiler.compile(e) for e in self.rhs]
        sql = f"({', '.join(s for s, _ in left)}) {self.op} ({', '.join(s for s, _ in right)})"
        return sql, [p for _, ps in left + right for p in ps]


@dataclass(frozen=True)
class Cursor:
    keys: list[Any]
    forward: bool = True  # False: the page before these keys (a ``previous`` link)
    phase: int = 0  # chained lists (label-next): which of the querysets

    def encode(self) -> str:
        raw = json.dumps({"k": [_plain(v) for v in self.keys], "f": int(self.forward), "p": self.phase},
                         separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> Cursor:
        try:
            data = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
            keys, forward, phase = data["k"], bool(data["f"]), int(data.get("p", 0))
            if not isinstance(keys, list):
                raise ValueError
        except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError):
            raise ApplicationError("not a cursor of this list (follow the next/previous links)", field="cursor")
        return cls(keys=keys, forward=forward, phase=phase)


def _plain(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


def _fields(ordering: Sequence[str]) -> tuple[list[str], bool]:
    """The key names and whether they run descending (all keys must share one direction)."""
    names = [o.lstrip("-") for o in ordering]
    descending = {o.startswith("-") for o in ordering}
    if len(descending) != 1:
        raise ValueError(f"keyset ordering must run one way: {ordering}")
    return names, descending.pop()


def _value(model, name: str, raw: Any) -> Any:
    """The cursor's JSON value as the key's Python type (UUIDs, datetimes), typed for the query."""
    if raw is None:
        raise ApplicationError("not a cursor of this list (follow the next/previous links)", field="cursor")
    try:
        field = model._meta.pk if name == "pk" else model._meta.get_field(name)
    except Exception:  # noqa: BLE001 - an annotation: its value is used as is
        return Value(raw)
    try:
        return Value(field.to_python(raw), output_field=field)
    except Exception:  # noqa: BLE001 - a forged cursor
        raise ApplicationError("not a cursor of this list (follow the next/previous links)", field="cursor")


def keys_of(row: Any, names: Sequence[str]) -> list[Any]:
    return [getattr(row, "pk" if n == "pk" else n) for n in names]


def page_after(qs: QuerySet, ordering: Sequence[str], cursor: Cursor | None, size: int) -> tuple[list, bool]:
    """Up to ``size`` rows after (or, backwards, before) ``cursor`` in ``ordering``, and
    whether more rows lie beyond them in that direction. Rows come back in list order."""
    names, descending = _fields(ordering)
    if cursor is not None and not cursor.keys:
        cursor = None  # the start of a chained list's next queryset
    backwards = cursor is not None and not cursor.forward
    if cursor is not None:
        if len(cursor.keys) != len(names):
            raise ApplicationError("not a cursor of this list (follow the next/previous links)", field="cursor")
        after = descending == backwards  # ascending forward, or descending backward: keys greater
        rhs = [_value(qs.model, n, v) for n, v in zip(names, cursor.keys, strict=True)]
        qs = qs.filter(RowCompare([F(n) for n in names], ">" if after else "<", rhs))
    flip = descending != backwards
    qs = qs.order_by(*[f"-{n}" if flip else n for n in names])
    rows = list(qs[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    if backwards:
        rows.reverse()
    return rows, more


def estimated_count(qs: QuerySet, cap: int = COUNT_CAP) -> tuple[int, bool]:
    """Exact up to ``cap`` rows (a LIMITed count: bounded work); beyond, PostgreSQL's planner
    estimate (never below cap + 1) or, on SQLite, cap + 1: ``(count, is_estimate)``."""
    n = qs.order_by()[: cap + 1].count()
    if n <= cap:
        return n, False
    conn = connections[qs.db]
    if conn.vendor == "postgresql":
        sql, params = qs.order_by().values("pk").query.sql_with_params()
        with conn.cursor() as cur:
            cur.execute("EXPLAIN (FORMAT JSON) " + sql, params)
            plan = cur.fetchone()[0]
        if isinstance(plan, str):
            plan = json.loads(plan)
        return max(cap + 1, int(plan[0]["Plan"]["Plan Rows"])), True
    return cap + 1, True


CountFn = Callable[[QuerySet], "tuple[int, bool] | int | None"]


class CursorPagination(BasePagination):
    """``{"count", "count_is_estimate", "next", "previous", "results"}`` paged by keyset.

    The queryset's ``order_by`` (plain fields, one direction) is the key; ``pk`` is added as
    the last key unless the ordering is already unique (``unique``). ``count(qs) -> int |
    (int, is_estimate) | None`` gives the size when there is a cheap exact figure (a counter).
    """

    def __init__(self, *, unique: bool = False, count: CountFn | None = None) -> None:
        self.unique = unique
        self.count_fn = count

    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 500
    cursor_query_param = "cursor"
    page_query_param = "page"

    def get_page_size(self, request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw in (None, ""):
            return self.page_size
        try:
            size = int(raw)
        except ValueError:
            raise ApplicationError("must be a whole number", field=self.page_size_query_param)
        if size < 1:
            raise ApplicationError("must be at least 1", field=self.page_size_query_param)
        return min(size, self.max_page_size)

    def ordering_of(self, qs: QuerySet, view) -> list[str]:
        ordering = [o for o in qs.query.order_by if isinstance(o, str)]
        if len(ordering) != len(qs.query.order_by) or not ordering:
            raise ValueError("keyset pagination needs an order_by of plain field names")
        if not self.unique and ordering[-1].lstrip("-") not in ("pk", "id"):
            ordering.append("-pk" if ordering[-1].startswith("-") else "pk")
        return ordering

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        size = self.get_page_size(request)
        ordering = self.ordering_of(queryset, view)
        names, _ = _fields(ordering)
        raw_cursor = request.query_params.get(self.cursor_query_param)
        raw_page = request.query_params.get(self.page_query_param)
        cursor = Cursor.decode(raw_cursor) if raw_cursor else None
        self.page_number = 1
        if cursor is None and raw_page not in (None, "", "1"):
            rows, more, has_before = self._offset_page(queryset, ordering, raw_page, size)
        else:
            rows, more = page_after(queryset, ordering, cursor, size)
            has_before = cursor is not None and (cursor.forward or more)
            if cursor is not None and not cursor.forward:
                more, has_before = True, more  # we came from the page after these rows
        self.next_cursor = Cursor(keys_of(rows[-1], names)).encode() if rows and more else None
        self.previous_cursor = Cursor(keys_of(rows[0], names), forward=False).encode() if rows and has_before else None
        self.count, self.count_is_estimate = self._count(queryset, view)
        return rows

    def _offset_page(self, qs: QuerySet, ordering: list[str], raw_page: str, size: int):
        number = _page_number(raw_page)
        self.page_number = number
        start = (number - 1) * size
        rows = list(qs.order_by(*ordering)[start : start + size + 1])
        if not rows and number > 1:
            raise NotFound("Invalid page.")
        return rows[:size], len(rows) > size, number > 1

    def _count(self, qs: QuerySet, view) -> tuple[int, bool]:
        got = self.count_fn(qs) if self.count_fn else None
        if got is None:
            return estimated_count(qs)
        if isinstance(got, tuple):
            return got
        return int(got), False

    def _link(self, cursor: str | None) -> str | None:
        if cursor is None:
            return None
        url = self.request.build_absolute_uri()
        url = remove_query_param(url, self.page_query_param)
        return replace_query_param(url, self.cursor_query_param, cursor)

    def get_paginated_response(self, data) -> Response:
        return Response({
            "count": self.count,
            "count_is_estimate": self.count_is_estimate,
            "next": self._link(self.next_cursor),
            "previous": self._link(self.previous_cursor),
            "results": data,
        })

    def get_paginated_response_schema(self, schema: dict) -> dict:
        return {
            "type": "object",
            "required": ["count", "count_is_estimate", "results"],
            "properties": {
                "count": {"type": "integer", "example": 123},
                "count_is_estimate": {
                    "type": "boolean",
                    "description": "true when count is an estimate (a large list): page by next, not by count",
                },
                "next": {"type": "string", "nullable": True, "format": "uri"},
                "previous": {"type": "string", "nullable": True, "format": "uri"},
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view) -> list[dict]:
        return [
            {"name": self.cursor_query_param, "required": False, "in": "query",
             "description": "an opaque cursor from a next/previous link", "schema": {"type": "string"}},
            {"name": self.page_query_param, "required": False, "in": "query",
             "description": "page number (compatibility; its links are cursors)", "schema": {"type": "integer"}},
            {"name": self.page_size_query_param, "required": False, "in": "query",
             "description": f"rows per page (at most {self.max_page_size})", "schema": {"type": "integer"}},
        ]


class ChainedCursorPagination(CursorPagination):
    """One list made of several querysets read one after the other (label-next: the samples
    with a suggestion by uncertainty, then the others), each paged by its own keys; the
    cursor names the queryset it points into. Forward only: ``previous`` is null."""

    def paginate_chain(self, phases: Sequence[tuple[QuerySet, bool]], request) -> list:
        """``phases``: (queryset, its ordering is unique) pairs, in list order."""
        self.request = request
        size = self.get_page_size(request)
        raw_cursor = request.query_params.get(self.cursor_query_param)
        cursor = Cursor.decode(raw_cursor) if raw_cursor else None
        if cursor is not None and not (0 <= cursor.phase < len(phases) and cursor.forward):
            raise ApplicationError("not a cursor of this list (follow the next link)", field="cursor")
        raw_page = request.query_params.get(self.page_query_param)
        skip = 0
        if cursor is None and raw_page not in (None, "", "1"):
            skip = (_page_number(raw_page) - 1) * size  # compatibility path: OFFSET, its cost grows with the page
        rows: list = []
        self.next_cursor = self.previous_cursor = None
        start = cursor.phase if cursor else 0
        for index in range(start, len(phases)):
            qs, unique = phases[index]
            self.unique = unique
            ordering = self.ordering_of(qs, None)
            names, _ = _fields(ordering)
            want = size - len(rows)
            if skip:
                found = list(qs.order_by(*ordering)[skip : skip + want + 1])
                if not found:
                    skip -= qs.order_by().count()
                    continue
                skip = 0
                more = len(found) > want
                found = found[:want]
            else:
                found, more = page_after(qs, ordering, cursor if cursor and index == cursor.phase else None, want)
            rows.extend(found)
            if more:
                self.next_cursor = Cursor(keys_of(found[-1], names), phase=index).encode()
                break
            if len(rows) >= size:
                # This queryset ended with the page: the next page starts at the following one,
                # if it has rows.
                if any(q.exists() for q, _ in phases[index + 1 :]):
                    following = index + 1
                    self.next_cursor = _start_of(following)
                break
        if skip:
            raise NotFound("Invalid page.")
        self.count, self.count_is_estimate = self._count(phases[0][0], None)
        return rows


def _start_of(phase: int) -> str:
    """A cursor at the start of ``phase`` (no keys: nothing to start after)."""
    return Cursor([], phase=phase).encode()


# The query parameters of a cursor list, for views that page by hand (their extend_schema).
CURSOR_PARAMETERS = [
    OpenApiParameter("cursor", str, description="an opaque cursor from a next/previous link"),
    OpenApiParameter("page", int, description="page number (compatibility: its cost grows with the number; "
                     "its next/previous links are cursors)"),
    OpenApiParameter("page_size", int, description=f"rows per page (at most {CursorPagination.max_page_size})"),
]

_PAGES: dict[type, type] = {}


def cursor_page_of(serializer_class: type[serializers.Serializer]) -> type[serializers.Serializer]:
    """The schema of a cursor page of ``serializer_class`` for views that page by hand."""
    if serializer_class not in _PAGES:
        name = serializer_class.__name__.removesuffix("Serializer")
        _PAGES[serializer_class] = type(f"{name}CursorPage", (serializers.Serializer,), {
            "count": serializers.IntegerField(),
            "count_is_estimate": serializers.BooleanField(),
            "next": serializers.URLField(allow_null=True),
            "previous": serializers.URLField(allow_null=True),
            "results": serializer_class(many=True),
        })
    return _PAGES[serializer_class]


def _page_number(raw: str) -> int:
    """``?page=N`` (N ≥ 1), the compatibility path; DRF's answer to anything else."""
    try:
        number = int(raw)
    except ValueError:
        raise NotFound("Invalid page.") from None
    if number < 1:
        raise NotFound("Invalid page.")
    return number

"""The product's URL routes, walked: the route walks (tenant scope, unknown ids, the role
table) share them."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

from django.urls import URLPattern, URLResolver, get_resolver


def walk(resolver=None, prefix: str = "") -> Iterator[tuple[str, URLPattern]]:
    resolver = resolver or get_resolver()
    for pattern in resolver.url_patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from walk(pattern, route)
        elif isinstance(pattern, URLPattern):
            yield route, pattern


def api_patterns() -> Iterator[tuple[str, URLPattern]]:
    for route, pattern in walk():
        if route.startswith("api/v1/") or route.startswith("v1/"):
            yield route, pattern


def view_class(pattern: URLPattern):
    callback = pattern.callback
    return getattr(callback, "cls", None) or getattr(callback, "view_class", None)


def fill(route: str) -> str:
    """A URL of ``route`` with a fresh id for each id part (regex groups of router routes
    first, before their names look like path converters) and V999 for other parts."""
    route = route.replace("^", "").replace("$", "")
    route = re.sub(r"\(\?P<[^>]+>[^)]+\)", str(uuid.uuid4()), route)
    route = re.sub(r"<(?:uuid:)?[a-z_]*id[a-z_]*>", str(uuid.uuid4()), route)
    route = re.sub(r"<(?:str:|slug:)?[a-z_]+>", "V999", route)
    return "/" + route.replace("\\.", ".")

"""The one domain error type; the API layer maps it to an HTTP answer."""

from __future__ import annotations

import re
import tempfile
from typing import Any


class ApplicationError(Exception):
    """A request the domain refuses.

    ``field`` names the offending input (400 ``{field: [reason]}``); ``status`` picks the
    HTTP status (400 invalid, 403 quota/role, 404 missing, 409 wrong state, 413 too large).
    """

    def __init__(
        self,
        message: str,
        *,
        code: str = "invalid",
        field: str | None = None,
        status: int = 400,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.field = field
        self.status = status
        self.extra = extra or {}


class QuotaExceeded(ApplicationError):
    def __init__(self, *, quota: str, limit: int | float, used: int | float) -> None:
        super().__init__(
            f"quota exceeded: {quota} (limit {limit}, used {used})",
            code="quota_exceeded",
            status=403,
            extra={"quota": quota, "limit": limit, "used": used},
        )


class WrongState(ApplicationError):
    def __init__(self, message: str, *, status_value: str) -> None:
        super().__init__(message, code="wrong_state", status=409, extra={"status": status_value})


class NotFound(ApplicationError):
    def __init__(self, message: str = "Not found.") -> None:
        super().__init__(message, code="not_found", status=404)


_URL = re.compile(r"\bhttps?://[^\s'\"<>]+", re.IGNORECASE)


def scrub(text: str) -> str:
    """A message fit for a user: no internal endpoint (http URLs) and no server path."""
    from django.conf import settings

    text = _URL.sub("the storage endpoint", text)
    for root in sorted({str(settings.EXEML_HOME), str(settings.BASE_DIR), tempfile.gettempdir()}, key=len, reverse=True):
        if root and root != "/":
            text = text.replace(root, "…")
    return text


def public_reason(exc: BaseException) -> str:
    """What a user may read about a failure: its reason without endpoints or server paths,
    a storage outage as such (the traceback goes to the server log)."""
    from exeml.storage import TransientStorageError

    if isinstance(exc, TransientStorageError):
        return "the object storage could not be reached; try again later"
    reason = getattr(exc, "reason", None) or getattr(exc, "message", None)
    if reason:
        return scrub(str(reason))
    return scrub(str(exc)) or type(exc).__name__

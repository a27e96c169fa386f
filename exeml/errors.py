"""The one domain error type; the API layer maps it to an HTTP answer."""

from __future__ import annotations

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

"""Exceptions of the SDK: one class per kind of API answer, each carrying what the API said.

The API answers errors as ``{"detail", "code", ...}`` or ``{"field": ["reason"]}`` (API.md);
both shapes end up on the exception: ``detail`` (a readable sentence), ``code`` and
``fields`` (the per-field reasons, empty when the API answered with a detail).
"""

from __future__ import annotations

from typing import Any


class ExeMLError(Exception):
    """Anything the SDK raises."""


class ApiError(ExeMLError):
    """The API answered with an error status."""

    def __init__(self, status: int, detail: str, *, code: str | None = None, fields: dict[str, list[str]] | None = None,
                 body: Any = None, method: str = "", url: str = "") -> None:
        self.status = status
        self.detail = detail
        self.code = code
        self.fields = fields or {}
        self.body = body
        self.method = method
        self.url = url
        super().__init__(f"{status} {detail}" + (f" [{code}]" if code else ""))


class BadRequest(ApiError):
    """400: a field or the request is wrong; ``fields`` names them."""


class AuthError(ApiError):
    """401 or 403: no or invalid token, or a role that may not do this."""


class Unauthorized(AuthError):
    """401: no or invalid credentials."""


class Forbidden(AuthError):
    """403: the role does not allow it."""


class QuotaExceeded(ApiError):
    """403 with code ``quota_exceeded``: ``quota``, ``limit`` and ``used`` tell which."""

    @property
    def quota(self) -> str | None:
        return (self.body or {}).get("quota") if isinstance(self.body, dict) else None

    @property
    def limit(self) -> Any:
        return (self.body or {}).get("limit") if isinstance(self.body, dict) else None

    @property
    def used(self) -> Any:
        return (self.body or {}).get("used") if isinstance(self.body, dict) else None


class NotFound(ApiError):
    """404: missing, or another tenant's."""


class Conflict(ApiError):
    """409: the resource is in the wrong state; ``state`` is its status when the API says."""

    @property
    def state(self) -> str | None:
        return self.body.get("status") if isinstance(self.body, dict) else None


class TooLarge(ApiError):
    """413: the request or a file is over the limit."""


class RateLimited(ApiError):
    """429: too many requests."""


class ServerError(ApiError):
    """5xx."""


class WaitTimeout(ExeMLError):
    """A wait (training, job, deploy) did not finish in time; ``last`` is the last state read."""

    def __init__(self, message: str, last: Any = None) -> None:
        self.last = last
        super().__init__(message)


class ConnectionFailed(ExeMLError):
    """The platform could not be reached (refused, DNS, TLS, read timeout)."""


class Failed(ExeMLError):
    """Waited-for work ended in a failure state (a failed training, job or deploy)."""

    def __init__(self, message: str, last: Any = None) -> None:
        self.last = last
        super().__init__(message)


_BY_STATUS: dict[int, type[ApiError]] = {
    400: BadRequest, 401: Unauthorized, 403: Forbidden, 404: NotFound, 409: Conflict, 413: TooLarge,
    429: RateLimited,
}


def _detail_of(body: Any) -> tuple[str, dict[str, list[str]]]:
    if isinstance(body, dict):
        if isinstance(body.get("detail"), str):
            fields = {body["field"]: [body["detail"]]} if isinstance(body.get("field"), str) else {}
            return body["detail"], fields
        fields: dict[str, list[str]] = {}
        for key, value in body.items():
            if isinstance(value, list):
                fields[key] = [v if isinstance(v, str) else repr(v) for v in value]
            elif isinstance(value, str):
                fields[key] = [value]
            elif isinstance(value, dict):  # nested serializer errors
                for sub, reasons in value.items():
                    fields[f"{key}.{sub}"] = reasons if isinstance(reasons, list) else [str(reasons)]
        if fields:
            return "; ".join(f"{k}: {' '.join(v)}" for k, v in fields.items()), fields
    if isinstance(body, list) and body and all(isinstance(v, str) for v in body):
        return " ".join(body), {}
    return "", {}


def error_for(status: int, body: Any, *, method: str = "", url: str = "", text: str = "") -> ApiError:
    """The exception for an error answer (``body`` is the decoded JSON, or None)."""
    detail, fields = _detail_of(body)
    if not detail:
        detail = (text.strip()[:300] or f"HTTP {status}")
    code = body.get("code") if isinstance(body, dict) and isinstance(body.get("code"), str) else None
    if status == 403 and code == "quota_exceeded":
        cls: type[ApiError] = QuotaExceeded
    elif status >= 500:
        cls = ServerError
    else:
        cls = _BY_STATUS.get(status, ApiError)
    return cls(status, detail, code=code, fields=fields, body=body, method=method, url=url)

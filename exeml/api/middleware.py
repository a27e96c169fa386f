"""Request-wide guards: the tenant scope of one request never outlives it, and a ceiling on
every request body, checked before anything reads it.

DRF parsers read the WSGI stream directly, so Django's DATA_UPLOAD_MAX_MEMORY_SIZE (which
guards only ``request.body``) never applies to JSON bodies, and multipart files spool to
disk without a bound. The largest legitimate body is an upload or inference request; any
body above the largest of those limits is answered 413 at once.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.http import JsonResponse

from exeml.tenancy.scoping import current_tenant, is_unscoped, request_scope

logger = logging.getLogger(__name__)

# Multipart framing around an upload of the maximum size.
_FRAMING_SLACK = 64 * 1024


def request_max_bytes() -> int:
    limits = settings.EXEML_LIMITS
    return max(
        int(settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0),
        int(limits["upload_request_max_bytes"]) + _FRAMING_SLACK,
        int(limits["inference_max_bytes"]) + _FRAMING_SLACK,
    )


class RequestSizeLimitMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return JsonResponse({"detail": "invalid Content-Length", "code": "parse_error"}, status=400)
        limit = request_max_bytes()
        if length > limit:
            return JsonResponse(
                {"detail": f"request is {length} bytes, more than the limit of {limit}", "code": "too_large"},
                status=413,
            )
        return self.get_response(request)


class TenantScopeGuardMiddleware:
    """The last line of defence, outermost: every request starts with no tenant in scope and not
    ``unscoped()``, and nothing it set for itself survives it (fail closed). The API views and
    the inference path reset their own scope; a scope still set here is a bug, logged."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        with request_scope():
            try:
                return self.get_response(request)
            finally:
                if current_tenant() is not None or is_unscoped():
                    logger.error("a tenant scope outlived its block in %s %s; cleared", request.method, request.path)

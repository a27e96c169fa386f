"""Error shapes of API.md: ``{field: [reason]}`` or ``{"detail", "code", ...}``."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from exeml.errors import ApplicationError, public_reason
from exeml.storage import StorageError, TransientStorageError


def application_error_body(exc: ApplicationError) -> dict:
    if exc.field and exc.status == 400:
        return {exc.field: [exc.message], **exc.extra}
    body = {"detail": exc.message, "code": exc.code, **exc.extra}
    if exc.field:
        body["field"] = exc.field
    return body


def application_error_response(exc: ApplicationError) -> Response:
    return Response(application_error_body(exc), status=exc.status)


def exception_handler(exc, context):
    if isinstance(exc, ApplicationError):
        return application_error_response(exc)
    if isinstance(exc, DjangoValidationError):
        if hasattr(exc, "message_dict"):
            return Response(exc.message_dict, status=status.HTTP_400_BAD_REQUEST)
        return Response({"detail": " ".join(exc.messages)}, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, Http404):
        return Response({"detail": "Not found."}, status=status.HTTP_404_NOT_FOUND)
    if isinstance(exc, TransientStorageError):
        # The storage is down or unreachable: the client may retry; the endpoint stays private.
        return Response({"detail": public_reason(exc), "code": "storage_unavailable"},
                        status=status.HTTP_503_SERVICE_UNAVAILABLE)
    if isinstance(exc, StorageError):
        return Response({"detail": f"the object storage refused the request: {public_reason(exc)}",
                         "code": "storage_error"}, status=status.HTTP_502_BAD_GATEWAY)
    if isinstance(exc, PermissionDenied):
        return Response({"detail": str(exc) or "Permission denied."}, status=status.HTTP_403_FORBIDDEN)
    return drf_exception_handler(exc, context)

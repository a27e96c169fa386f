"""``POST /v1/infers/<service_id>``: ModelArts-style real-time inference.

Token auth (``X-Auth-Token`` or ``Authorization: Token``), the caller's tenant only;
input decoded per task type; the prediction runs in the request's thread under the 40 s
deadline (serving/deadline.py); every call is counted and its latency recorded. A warm
request reads and writes no database row: token, membership and the running service come
from per-process caches with short lifetimes, calls are written by a background flusher.

``answer_plain_call`` (called by serving.middleware before the session, CSRF, auth and message
middleware) answers the plain warm call: a cached token in a header, a cached running service,
one well-formed file or JSON body. DRF's request machinery and that middleware cost a web
process more CPU per image request than decoding the image. Everything else (session auth,
cold caches, malformed or unusual bodies, every error before the prediction) goes on to
``InferView``, the one place the contract's other answers come from.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from django.conf import settings
from django.http import HttpResponse
from django.http.multipartparser import MultiPartParser as DjangoMultiPartParser
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions
from rest_framework.exceptions import APIException, UnsupportedMediaType
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from exeml.api.authentication import (
    CachedApiTokenAuthentication,
    TenantSessionAuthentication,
    token_from_headers,
)
from exeml.api.errors import application_error_body
from exeml.api.parsers import SafeJSONParser, json_depth_exceeds
from exeml.api.permissions import INFER
from exeml.api.views import TenantAPIView
from exeml.errors import ApplicationError, NotFound, WrongState
from exeml.task_types import TaskType
from exeml.tenancy.models import hash_token
from exeml.tenancy.scoping import tenant_scope
from exeml.tenancy.tokencache import auth_cache
from serving import runtime, services
from serving.deadline import deadline_watch
from serving.lookup import service_generation, service_lookup_cache
from serving.metrics import record_call
from serving.models import Service, ServiceStatus
from training.engine.predictors import PredictionError, run_options

log = logging.getLogger(__name__)

_FILE_FIELDS = {
    TaskType.IMAGE_CLASSIFICATION: ("images", "one image file (JPG, PNG or BMP)"),
    TaskType.OBJECT_DETECTION: ("images", "one image file (JPG, PNG or BMP)"),
    TaskType.SOUND_CLASSIFICATION: ("files", "one WAV file"),
}

MAX_INFERENCE_RECORDS = 10_000

def decode_payload(request, task_type: str) -> Any:
    """The predictor's input for ``task_type``; ApplicationError(400) names what is wrong."""
    if task_type in _FILE_FIELDS:
        field, what = _FILE_FIELDS[task_type]
        try:
            files = request.FILES.getlist(field)
        except UnsupportedMediaType:
            raise ApplicationError(f"expected multipart/form-data with {what} in {field!r}", field=field) from None
        if not files:
            raise ApplicationError(f"expected {what} in the multipart field {field!r}", field=field)
        if len(files) > 1:
            raise ApplicationError(f"expected exactly one file, got {len(files)}", field=field)
        data = files[0].read()
        if not data:
            raise ApplicationError("the file is empty", field=field)
        return data
    try:
        data = request.data
    except UnsupportedMediaType:
        raise ApplicationError(
            f"unsupported content type {request.content_type!r}; send application/json"
        ) from None
    return payload_from_json(data, task_type)


def payload_from_json(data: Any, task_type: str) -> Any:
    """The predictor's input for a JSON task type from the parsed body; ApplicationError(400)."""
    if not isinstance(data, Mapping):
        raise ApplicationError("the request body must be a JSON object")
    if task_type == TaskType.TEXT_CLASSIFICATION:
        if "text" not in data:
            raise ApplicationError('expected a JSON body {"text": "..."}', field="text")
        return {"text": data["text"]}
    if task_type == TaskType.PREDICTIVE_ANALYTICS:
        body = data.get("data")
        if not isinstance(body, Mapping):
            raise ApplicationError('expected {"data": {"count": N, "req_data": [{...}]}}', field="data")
        records = body.get("req_data")
        if not isinstance(records, list) or not records or not all(isinstance(r, Mapping) for r in records):
            raise ApplicationError('"req_data" must be a non-empty list of records (JSON objects)', field="data")
        if len(records) > MAX_INFERENCE_RECORDS:
            # 8 MB of "{}," is millions of records, each echoed back with its prediction.
            raise ApplicationError(f"at most {MAX_INFERENCE_RECORDS} records per request", field="data")
        return {"data": {"count": body.get("count", len(records)), "req_data": [dict(r) for r in records]}}
    raise ApplicationError(f"no inference for task type {task_type}")


class InferView(TenantAPIView):
    # Token and service lookups cached per process: a warm request makes no query.
    authentication_classes = [CachedApiTokenAuthentication, TenantSessionAuthentication]
    # Every role may call inference: it changes nothing the tenant owns.
    capabilities = INFER
    parser_classes = [SafeJSONParser, MultiPartParser, FormParser]

    def _service(self, service_id) -> Service:
        # A running service seen in the last EXEML_SERVICE_LOOKUP_CACHE_SECONDS costs no query;
        # the cache answers only the service's own tenant (serving/lookup.py).
        service = service_lookup_cache.get(service_id, tenant_id=self.request.tenant.pk)
        if service is None:
            generation = service_generation(service_id)  # before the row: a change in between shows
            service = (
                Service.objects.select_related(
                    "flavor", "model_version", "model_version__project", "model_version__tenant"
                )
                .filter(pk=service_id)
                .first()
            )
            if service is None:
                raise NotFound("No such service.")
            if service.status == ServiceStatus.RUNNING and not services.service_is_expired(service):
                service_lookup_cache.put(service, generation)
        if services.service_is_expired(service):
            # Refused at once, and stopped now rather than at the next beat tick.
            service_lookup_cache.forget(service.pk)
            try:
                services.service_stop(service_id=service.pk)
            except WrongState:
                pass
            raise WrongState("the service was auto-stopped; start it again", status_value=ServiceStatus.STOPPED)
        if service.status != ServiceStatus.RUNNING:
            raise WrongState(f"the service is {service.status}, not running", status_value=service.status)
        return service

    @extend_schema(
        request={"application/json": dict, "multipart/form-data": dict},
        responses={
            200: OpenApiResponse(description="the ModelArts response of the task type"),
            400: OpenApiResponse(description="malformed input"),
            409: OpenApiResponse(description="the service is not running"),
            413: OpenApiResponse(description="request too large"),
            504: OpenApiResponse(description="the prediction took longer than the deadline"),
        },
    )
    def post(self, request, service_id):
        limit = settings.EXEML_LIMITS["inference_max_bytes"]
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > limit:
            raise ApplicationError(f"request is {length} bytes, more than the limit of {limit}", code="too_large",
                                   status=413)
        service = self._service(service_id)
        task_type = service.model_version.project.task_type
        status, body = predict_counted(service, lambda: decode_payload(request, task_type), time.perf_counter())
        return Response(body, status=status)


def predict_counted(service: Service, decode: Callable[[], Any], started: float) -> tuple[int, Any]:
    """(status, body) of one call of ``service``, counted once with its latency since ``started``.

    ApplicationError and APIException (bad input, from ``decode`` or the predictor) propagate
    for the caller to answer; they are counted as failed calls too."""
    ok = False
    try:
        payload = decode()
        predictor = runtime.predictor_for_service(service)
        timeout = settings.EXEML_LIMITS["inference_timeout_seconds"]
        begun = time.monotonic()
        # In this thread: the watchdog stops the session run at the deadline (serving/deadline.py).
        with deadline_watch().watch(timeout) as options, run_options(options):
            try:
                result = predictor.predict(payload, **services.predict_options(service))
            except PredictionError as exc:
                raise ApplicationError(str(exc), code="invalid_input") from None
            except Exception:
                if options.terminate:
                    return _deadline_answer(timeout)
                raise
        if time.monotonic() - begun > timeout:
            return _deadline_answer(timeout)  # done, but late (the part outside the session ran long)
        ok = True
        return 200, result
    except (ApplicationError, APIException):
        raise
    except Exception as exc:
        log.exception("inference on service %s failed", service.pk)
        return 500, {"detail": f"prediction failed: {type(exc).__name__}: {exc}", "code": "server_error"}
    finally:
        latency_ms = (time.perf_counter() - started) * 1000.0
        try:
            record_call(service=service, latency_ms=latency_ms, ok=ok)
        except Exception:  # accounting must never turn an answer into an error
            log.exception("could not record a call of service %s", service.pk)


def _deadline_answer(timeout: float) -> tuple[int, Any]:
    return 504, {"detail": f"the prediction took longer than {timeout:g} s", "code": "timeout"}


# --- The hot path ----------------------------------------------------------------------------

_renderer = JSONRenderer()


def _json_response(status: int, body: Any) -> HttpResponse:
    # The bytes DRF's JSONRenderer writes for the same body, and the headers its views and
    # the skipped CommonMiddleware add.
    content = _renderer.render(body)
    response = HttpResponse(content, content_type="application/json", status=status)
    response["Content-Length"] = str(len(content))
    response["Vary"] = "Accept"
    response["Allow"] = "POST, OPTIONS"
    return response


# ``form-data; name="images"; filename="x.jpg"`` without escapes, extended (RFC 2231) or
# repeated parameters; anything else is left to Django's parser.
_PLAIN_PARAM = re.compile(r';\s*([A-Za-z][A-Za-z0-9_.-]*)=(?:"([^"\\]*)"|([^\s;"\\*]+))\s*')


def _plain_disposition(value: str) -> dict[str, str] | None:
    kind, _, rest = value.strip().partition(";")
    if kind.strip().lower() != "form-data":
        return None
    params: dict[str, str] = {}
    position, rest = 0, ";" + rest
    while position < len(rest):
        match = _PLAIN_PARAM.match(rest, position)
        if match is None or match.group(1).lower() in params:
            return None
        params[match.group(1).lower()] = match.group(2) if match.group(2) is not None else match.group(3)
        position = match.end()
    return params


def single_file(body: bytes, content_type: str, content_params: Mapping[str, str], field: str) -> bytes | None:
    """The content of a multipart body made of exactly one non-empty file in ``field``, else None
    (anything else, valid or not, is left to Django's parser). Django's MultiPartParser walks the
    body in Python; this is a few ``bytes.find`` calls. ``content_type`` and ``content_params``
    are the request's, as Django parsed them."""
    boundary_text = content_params.get("boundary", "")
    if content_type != "multipart/form-data" or not DjangoMultiPartParser.boundary_re.fullmatch(boundary_text):
        return None
    boundary = boundary_text.encode("ascii")
    opening = b"--" + boundary + b"\r\n"
    if not body.startswith(opening):
        return None
    headers_end = body.find(b"\r\n\r\n", len(opening))
    if headers_end < 0:
        return None
    disposition = None
    for line in body[len(opening):headers_end].split(b"\r\n"):
        name, sep, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-disposition" and sep and disposition is None:
            disposition = value.decode("latin-1")
        elif name != b"content-type" or not sep:
            return None  # a transfer encoding, folded or repeated headers: Django's parser decides
    params = _plain_disposition(disposition) if disposition is not None else None
    if params is None or params.get("name") != field or not params.get("filename"):
        return None
    start = headers_end + 4
    end = body.find(b"\r\n--" + boundary, start)
    # The closing delimiter must follow: a second part goes to Django's parser.
    if end <= start or body[end + 4 + len(boundary):end + 6 + len(boundary)] != b"--":
        return None
    return body[start:end]


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")  # as DRF's strict parser: NaN and Infinity are not JSON


def _fast_payload(request, task_type: str) -> Any:
    """The predictor's input when the body is the plain well-formed case, else None."""
    if task_type in _FILE_FIELDS:
        return single_file(request.body, request.content_type, request.content_params, _FILE_FIELDS[task_type][0])
    charset = request.content_params.get("charset", "utf-8").lower()
    if request.content_type != "application/json" or charset not in ("utf-8", "utf8"):
        return None
    try:
        data = json.loads(request.body.decode("utf-8"), parse_constant=_refuse_constant)
        if json_depth_exceeds(data):
            return None
        return payload_from_json(data, task_type)
    except (ValueError, RecursionError, ApplicationError):
        return None  # the general path answers with its reason and counts the call


def answer_plain_call(request, service_id: uuid.UUID) -> HttpResponse | None:
    """The answer to a plain warm call of ``POST /v1/infers/<service_id>``, or None: then the
    request goes on through the middleware to InferView, as if this had not looked at it."""
    if request.method != "POST" or request.META.get("QUERY_STRING"):
        return None
    if request.META.get("HTTP_ACCEPT", "*/*") not in ("*/*", "application/json"):
        return None  # content negotiation (a 406) is DRF's
    try:
        key = token_from_headers(request)
    except exceptions.AuthenticationFailed:
        return None
    hit = auth_cache.get(hash_token(key)) if key else None
    if hit is None:
        return None  # session auth (CSRF and all), or a token to check against the database
    membership = hit[1]
    service = service_lookup_cache.get(service_id, tenant_id=membership.tenant_id)
    if service is None or service.status != ServiceStatus.RUNNING or services.service_is_expired(service):
        return None
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None
    limit = settings.EXEML_LIMITS["inference_max_bytes"]
    if not 0 < length <= min(limit, settings.DATA_UPLOAD_MAX_MEMORY_SIZE or limit):
        return None  # InferView answers 413 (or reads an unsized body its own way)
    started = time.perf_counter()
    # request.body keeps the bytes: InferView parses them again if this declines.
    payload = _fast_payload(request, service.model_version.project.task_type)
    if payload is None:
        return None
    # The scope is set and reset by one context manager: nothing that raises here can leave
    # it set for the next request on this thread.
    with tenant_scope(membership.tenant):
        try:
            status, body = predict_counted(service, lambda: payload, started)
        except ApplicationError as exc:
            status, body = exc.status, application_error_body(exc)
    return _json_response(status, body)

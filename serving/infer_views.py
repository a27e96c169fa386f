"""``POST /v1/infers/<service_id>``: ModelArts-style real-time inference.

Token auth (``X-Auth-Token`` or ``Authorization: Token``), the caller's tenant only;
input decoded per task type; the prediction runs in a bounded thread pool under the
40 s deadline; every call is counted and its latency recorded. A warm request reads and
writes no database row: token, membership and the running service come from per-process
caches with short lifetimes, calls are written by a background flusher.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.conf import settings
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import permissions
from rest_framework.exceptions import APIException, UnsupportedMediaType
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from exeml.api.authentication import CachedApiTokenAuthentication, TenantSessionAuthentication
from exeml.api.parsers import SafeJSONParser
from exeml.api.views import TenantAPIView
from exeml.errors import ApplicationError, NotFound, WrongState
from exeml.task_types import TaskType
from serving import runtime, services
from serving.lookup import service_generation, service_lookup_cache
from serving.metrics import record_call
from serving.models import Service, ServiceStatus
from training.engine.predictors import PredictionError

log = logging.getLogger(__name__)

_FILE_FIELDS = {
    TaskType.IMAGE_CLASSIFICATION: ("images", "one image file (JPG, PNG or BMP)"),
    TaskType.OBJECT_DETECTION: ("images", "one image file (JPG, PNG or BMP)"),
    TaskType.SOUND_CLASSIFICATION: ("files", "one WAV file"),
}

MAX_INFERENCE_RECORDS = 10_000

_pool: ThreadPoolExecutor | None = None
_pool_guard = threading.Lock()


def prediction_pool() -> ThreadPoolExecutor:
    """Bounded: a request that times out keeps its thread until predict returns, so a
    flood of slow requests queues here instead of spawning unbounded threads."""
    global _pool
    with _pool_guard:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2), thread_name_prefix="predict")
        return _pool


class AnyMember(permissions.BasePermission):
    """Every role may call inference (it changes nothing the tenant owns)."""

    message = "You are not a member of this tenant."

    def has_permission(self, request, view) -> bool:
        return getattr(request, "membership", None) is not None


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
    permission_classes = [AnyMember]
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
        started = time.perf_counter()
        ok = False
        try:
            payload = decode_payload(request, service.model_version.project.task_type)
            predictor = runtime.predictor_for_service(service)
            future = prediction_pool().submit(predictor.predict, payload, **services.predict_options(service))
            timeout = settings.EXEML_LIMITS["inference_timeout_seconds"]
            try:
                result = future.result(timeout=timeout)
            except TimeoutError:
                future.cancel()
                return Response({"detail": f"the prediction took longer than {timeout:g} s", "code": "timeout"},
                                status=504)
            except PredictionError as exc:
                raise ApplicationError(str(exc), code="invalid_input") from None
            ok = True
            return Response(result)
        except (ApplicationError, APIException):
            raise
        except Exception as exc:
            log.exception("inference on service %s failed", service.pk)
            return Response({"detail": f"prediction failed: {type(exc).__name__}: {exc}", "code": "server_error"},
                            status=500)
        finally:
            latency_ms = (time.perf_counter() - started) * 1000.0
            try:
                record_call(service=service, latency_ms=latency_ms, ok=ok)
            except Exception:  # accounting must never turn an answer into an error
                log.exception("could not record a call of service %s", service.pk)

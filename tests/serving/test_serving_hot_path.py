"""The inference hot path: a warm request reads and writes no database row, yet a stopped or
deleted service stops answering and another tenant's token never gets the cached service."""

from __future__ import annotations

import time
import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.settings import api_settings
from rest_framework.test import APIClient

from exeml.api.throttling import FailedTokenThrottle
from exeml.tenancy.models import ApiToken, hash_token
from exeml.tenancy.tokencache import auth_cache
from serving.models import Service, ServiceStatus
from tests.serving.serving_helpers import make_version, png_bytes, running_service, tabular_request

pytestmark = pytest.mark.django_db


@pytest.fixture
def long_caches(settings):
    """Cache lifetimes far above a test's duration: "warm" must not depend on how fast a
    loaded machine runs the test (the 2-s default lapsed between two requests under load)."""
    settings.EXEML_SERVICE_LOOKUP_CACHE_SECONDS = 600.0
    settings.EXEML_AUTH_CACHE_SECONDS = 600.0


def test_a_warm_inference_request_makes_no_query(owner, store, tabular_bundle, long_caches):
    from serving.metrics import call_recorder

    auth_cache.clear()
    service = running_service(owner, make_version(owner, store, tabular_bundle))
    body = tabular_request(tabular_bundle.eval_records[:1])
    url = f"/v1/infers/{service.pk}"
    # Loads the model, caches the token and the service.
    assert owner.client.post(url, body, format="json").status_code == 200
    call_recorder().background = True  # as in production: calls are written by the flusher thread
    try:
        with CaptureQueriesContext(connection) as queries:
            for _ in range(3):
                assert owner.client.post(url, body, format="json").status_code == 200
    finally:
        call_recorder().background = False
    sql = [q["sql"] for q in queries.captured_queries]
    assert sql == [], sql  # no token, membership or service read; no call write
    print("\ninference hot path: 0 queries per warm request")


def test_a_revoked_token_stops_at_once_despite_the_cache(owner, store, tabular_bundle):
    auth_cache.clear()
    service = running_service(owner, make_version(owner, store, tabular_bundle))
    body = tabular_request(tabular_bundle.eval_records[:1])
    url = f"/v1/infers/{service.pk}"
    assert owner.client.post(url, body, format="json").status_code == 200
    ApiToken.objects.get(key_hash=hash_token(owner.token)).revoke()
    assert owner.client.post(url, body, format="json").status_code == 401


def test_bad_tokens_from_an_address_do_not_lock_a_valid_token_out_of_inference(owner, store, image_bundle,
                                                                               monkeypatch):
    monkeypatch.setattr(FailedTokenThrottle, "THROTTLE_RATES", {**api_settings.DEFAULT_THROTTLE_RATES, "auth": "3/min"})
    auth_cache.clear()  # the valid token is checked, not answered from this process's memory
    service = running_service(owner, make_version(owner, store, image_bundle))
    url = f"/v1/infers/{service.pk}"
    n = uuid.uuid4().int
    client = APIClient(REMOTE_ADDR=f"10.{n % 250}.{(n >> 8) % 250}.{(n >> 16) % 250 + 1}")  # its own counters

    def infer(**headers):
        return client.post(url, {"images": SimpleUploadedFile("r.png", png_bytes())}, format="multipart", **headers)

    bad = f"bad-{uuid.uuid4().hex}-"
    assert [infer(HTTP_X_AUTH_TOKEN=f"{bad}{i}").status_code for i in range(4)] == [401, 401, 401, 429]
    r = infer(HTTP_X_AUTH_TOKEN=owner.token)
    assert r.status_code == 200 and r.json()["predicted_label"] == "red", r.content
    assert infer(HTTP_X_AUTH_TOKEN=f"{bad}again").status_code == 429


def test_stop_and_delete_take_effect_at_once_despite_the_cache(owner, store, tabular_bundle):
    service = running_service(owner, make_version(owner, store, tabular_bundle))
    body = tabular_request(tabular_bundle.eval_records[:1])
    url = f"/v1/infers/{service.pk}"
    assert owner.client.post(url, body, format="json").status_code == 200  # cached now
    assert owner.client.post(f"/api/v1/services/{service.pk}/stop").json()["status"] == "stopped"
    resp = owner.client.post(url, body, format="json")
    assert resp.status_code == 409 and resp.json()["status"] == "stopped"

    other = running_service(owner, service.model_version)
    other_url = f"/v1/infers/{other.pk}"
    assert owner.client.post(other_url, body, format="json").status_code == 200  # cached now
    assert owner.client.delete(f"/api/v1/services/{other.pk}").status_code == 204
    assert owner.client.post(other_url, body, format="json").status_code == 404


def test_a_stop_made_by_another_process_is_seen_within_the_cache_lifetime(
    owner, store, tabular_bundle, settings
):
    settings.EXEML_SERVICE_LOOKUP_CACHE_SECONDS = 0.2
    service = running_service(owner, make_version(owner, store, tabular_bundle))
    body = tabular_request(tabular_bundle.eval_records[:1])
    url = f"/v1/infers/{service.pk}"
    assert owner.client.post(url, body, format="json").status_code == 200  # cached now
    # Another process stops it: the row changes, this process's cache is not told.
    with owner.scope():
        Service.objects.filter(pk=service.pk).update(status=ServiceStatus.STOPPED)
    time.sleep(0.3)
    resp = owner.client.post(url, body, format="json")
    assert resp.status_code == 409 and resp.json()["status"] == "stopped"


def test_a_stop_through_another_web_process_is_seen_at_once(owner, store, tabular_bundle, settings):
    from serving.lookup import _new_generation, service_lookup_cache

    settings.EXEML_SERVICE_LOOKUP_CACHE_SECONDS = 60.0
    service = running_service(owner, make_version(owner, store, tabular_bundle))
    body = tabular_request(tabular_bundle.eval_records[:1])
    url = f"/v1/infers/{service.pk}"
    assert owner.client.post(url, body, format="json").status_code == 200  # cached now
    assert service_lookup_cache.get(service.pk, tenant_id=service.tenant_id) is not None
    # What service_transition does in the other process: the row, then a new generation in the
    # shared cache; this process's own cache is not told.
    with owner.scope():
        Service.objects.filter(pk=service.pk).update(status=ServiceStatus.STOPPED)
    _new_generation(service.pk)
    resp = owner.client.post(url, body, format="json")  # no sleep: well within the 60 s lifetime
    assert resp.status_code == 409 and resp.json()["status"] == "stopped"


def test_another_tenants_token_never_gets_the_cached_service(owner, outsider, store, tabular_bundle):
    service = running_service(owner, make_version(owner, store, tabular_bundle))
    body = tabular_request(tabular_bundle.eval_records[:1])
    url = f"/v1/infers/{service.pk}"
    assert owner.client.post(url, body, format="json").status_code == 200  # cached now
    assert outsider.client.post(url, body, format="json").status_code == 404
    assert owner.client.post(url, body, format="json").status_code == 200


def _multipart(parts: list[tuple[str, bytes]], boundary: str = "b0undary") -> tuple[bytes, str]:
    body = b""
    for headers, data in parts:
        body += f"--{boundary}\r\n{headers}\r\n\r\n".encode() + data + b"\r\n"
    return body + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def test_a_warm_call_is_answered_before_drf_with_the_same_answer(owner, store, image_bundle, monkeypatch, long_caches):
    from serving.infer_views import InferView
    from tests.serving.serving_helpers import png_bytes

    service = running_service(owner, make_version(owner, store, image_bundle))
    url = f"/v1/infers/{service.pk}"
    body, content_type = _multipart(
        [('Content-Disposition: form-data; name="images"; filename="r.png"\r\nContent-Type: image/png',
          png_bytes((255, 0, 0)))]
    )
    first = owner.client.generic("POST", url, body, content_type=content_type)  # cold: through InferView
    assert first.status_code == 200, first.content

    def refuse(*args, **kwargs):
        raise AssertionError("a warm plain call reached InferView")

    monkeypatch.setattr(InferView, "post", refuse)
    warm = owner.client.generic("POST", url, body, content_type=content_type, HTTP_X_AUTH_TOKEN=owner.token)
    assert warm.status_code == 200 and warm.content == first.content
    assert warm["Content-Type"] == "application/json" and warm["X-Frame-Options"] == "DENY"
    monkeypatch.undo()
    with owner.scope():
        from serving.metrics import flush_calls

        flush_calls()
        assert Service.objects.get(pk=service.pk).invocation_times == 2  # counted on both paths


def test_unusual_bodies_on_a_warm_service_get_inferviews_answers(owner, store, image_bundle):
    from tests.serving.serving_helpers import png_bytes

    service = running_service(owner, make_version(owner, store, image_bundle))
    url = f"/v1/infers/{service.pk}"
    png = png_bytes((255, 0, 0))
    one = ('Content-Disposition: form-data; name="images"; filename="r.png"', png)
    body, content_type = _multipart([one])
    assert owner.client.generic("POST", url, body, content_type=content_type).status_code == 200  # warm now
    # Two files: InferView's 400, not the first file's prediction.
    body, content_type = _multipart([one, one])
    resp = owner.client.generic("POST", url, body, content_type=content_type)
    assert resp.status_code == 400 and "exactly one" in resp.json()["images"][0]
    # A plain field instead of a file.
    body, content_type = _multipart([('Content-Disposition: form-data; name="images"', b"x")])
    resp = owner.client.generic("POST", url, body, content_type=content_type)
    assert resp.status_code == 400 and "images" in resp.json()
    # A preamble, a quoted boundary and a second header line are still one file: same answer.
    body, _ = _multipart([('Content-Disposition: form-data; name=images; filename=r.png\r\nContent-Type: image/png', png)])
    resp = owner.client.generic("POST", url, b"preamble\r\n" + body, content_type='multipart/form-data; boundary="b0undary"')
    assert resp.status_code == 200 and resp.json()["predicted_label"] == "red"


def test_single_file_accepts_only_the_plain_shape():
    from serving.infer_views import single_file

    params = {"boundary": "XyZ"}
    plain = b'--XyZ\r\nContent-Disposition: form-data; name="images"; filename="a.jpg"\r\n\r\nDATA\r\n--XyZ--\r\n'
    assert single_file(plain, "multipart/form-data", params, "images") == b"DATA"
    assert single_file(plain, "multipart/form-data", params, "files") is None
    assert single_file(plain, "multipart/mixed", params, "images") is None
    assert single_file(plain.replace(b"--XyZ--", b"--XyZ\r\n"), "multipart/form-data", params, "images") is None
    encoded = plain.replace(b"\r\n\r\n", b"\r\nContent-Transfer-Encoding: base64\r\n\r\n", 1)
    assert single_file(encoded, "multipart/form-data", params, "images") is None
    extended = plain.replace(b'filename="a.jpg"', b"filename*=UTF-8''a.jpg")
    assert single_file(extended, "multipart/form-data", params, "images") is None
    empty = plain.replace(b"DATA", b"")
    assert single_file(empty, "multipart/form-data", params, "images") is None
    assert single_file(plain, "multipart/form-data", {"boundary": "x" * 300}, "images") is None


def test_a_session_call_without_csrf_is_still_refused(owner, store, tabular_bundle):
    from rest_framework.test import APIClient

    service = running_service(owner, make_version(owner, store, tabular_bundle))
    url = f"/v1/infers/{service.pk}"
    body = tabular_request(tabular_bundle.eval_records[:1])
    assert owner.client.post(url, body, format="json").status_code == 200  # warm for the token
    console = APIClient(enforce_csrf_checks=True)
    console.force_login(owner.user)
    resp = console.post(url, body, format="json")
    assert resp.status_code == 403 and "CSRF" in resp.json()["detail"]

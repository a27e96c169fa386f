"""POST /v1/infers/<id>: input decoding per type, 400 for malformed input, 413, counting."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings

from serving.metrics import flush_calls
from serving.models import Service
from tests.serving.serving_helpers import (
    make_version,
    png_bytes,
    running_service,
    spinning_onnx,
    tabular_request,
    wav_bytes,
)

pytestmark = pytest.mark.django_db


def _url(service) -> str:
    return f"/v1/infers/{service.pk}"


def test_tabular_malformed_bodies_are_400(owner, store, tabular_bundle):
    service = running_service(owner, make_version(owner, store, tabular_bundle))
    record = dict(tabular_bundle.eval_records[0])
    client = owner.client
    resp = client.post(_url(service), "{not json", content_type="application/json")
    assert resp.status_code == 400 and "JSON" in resp.json()["detail"]
    resp = client.post(_url(service), {"rows": [record]}, format="json")
    assert resp.status_code == 400 and "data" in resp.json()
    resp = client.post(_url(service), {"data": {"count": 1, "req_data": []}}, format="json")
    assert resp.status_code == 400
    resp = client.post(_url(service), {"data": {"count": 1, "req_data": ["x"]}}, format="json")
    assert resp.status_code == 400
    missing = {k: v for k, v in record.items() if k != "attr_1"}
    resp = client.post(_url(service), tabular_request([missing]), format="json")
    assert resp.status_code == 400 and "attr_1" in resp.json()["detail"]
    resp = client.post(_url(service), "plain text", content_type="text/plain")
    assert resp.status_code == 400
    resp = client.post(_url(service), tabular_request([record]), format="json")
    assert resp.status_code == 200 and resp.json()["resp_data"][0]["predictioncol"] in ("yes", "no")
    with owner.scope():
        flush_calls()
        service = Service.objects.get(pk=service.pk)
    assert service.invocation_times == 7 and service.failed_times == 6
    metrics = client.get(f"/api/v1/services/{service.pk}/metrics").json()
    assert metrics["calls"] == 7 and metrics["failures"] == 6 and metrics["last_hour"]["failures"] == 6


def test_image_inputs(owner, store, image_bundle):
    service = running_service(owner, make_version(owner, store, image_bundle))
    resp = owner.client.post(_url(service), {"images": SimpleUploadedFile("r.png", png_bytes((255, 0, 0)))},
                             format="multipart")
    assert resp.status_code == 200, resp.content
    body = resp.json()
    assert body["predicted_label"] == "red" and body["scores"][0][0] == "red"
    resp = owner.client.post(_url(service), {"images": SimpleUploadedFile("a.txt", b"just some text\n")},
                             format="multipart")
    assert resp.status_code == 400 and "images" in resp.json()["detail"]
    resp = owner.client.post(_url(service), {"files": SimpleUploadedFile("r.png", png_bytes())}, format="multipart")
    assert resp.status_code == 400 and "images" in resp.json()
    resp = owner.client.post(_url(service), {"text": "hello"}, format="json")
    assert resp.status_code == 400 and "images" in resp.json()
    two = {"images": [SimpleUploadedFile("a.png", png_bytes()), SimpleUploadedFile("b.png", png_bytes())]}
    assert owner.client.post(_url(service), two, format="multipart").status_code == 400


def test_fake_image_gets_a_clean_message(owner, store, image_bundle):
    """A text file named .jpg: the client reads what is wrong, not Python internals."""
    service = running_service(owner, make_version(owner, store, image_bundle))
    fake = SimpleUploadedFile("photo.jpg", b"this is not a picture\n" * 20, content_type="image/jpeg")
    resp = owner.client.post(_url(service), {"images": fake}, format="multipart")
    assert resp.status_code == 400, resp.content
    detail = resp.json().get("detail")
    assert detail == "images: the file is not a JPG, PNG or BMP image"
    assert "object at 0x" not in resp.content.decode()


def test_sound_rejects_non_16_bit_wav(owner, store, sound_bundle):
    service = running_service(owner, make_version(owner, store, sound_bundle))
    resp = owner.client.post(_url(service), {"files": SimpleUploadedFile("a.wav", wav_bytes("FLOAT"))},
                             format="multipart")
    assert resp.status_code == 400 and "16-bit" in resp.json()["detail"]
    resp = owner.client.post(_url(service), {"files": SimpleUploadedFile("a.wav", b"RIFF....not a wav")},
                             format="multipart")
    assert resp.status_code == 400
    resp = owner.client.post(_url(service), {"images": SimpleUploadedFile("a.wav", wav_bytes())},
                             format="multipart")
    assert resp.status_code == 400 and "files" in resp.json()


def test_request_size_limit(owner, store, tabular_bundle, settings):
    service = running_service(owner, make_version(owner, store, tabular_bundle))
    settings.EXEML_LIMITS = {**settings.EXEML_LIMITS, "inference_max_bytes": 100}
    body = tabular_request(tabular_bundle.eval_records[:5])
    resp = owner.client.post(_url(service), body, format="json")
    assert resp.status_code == 413


def test_deadline_gives_504(owner, store, tabular_bundle, settings):
    import time

    from serving.runtime import PredictorKey, predictor_cache

    version = make_version(owner, store, tabular_bundle)
    service = running_service(owner, version)

    class Slow:
        def predict(self, payload):
            time.sleep(0.5)
            return {}

    predictor_cache().get_or_load(PredictorKey(str(version.pk), "cpu"), Slow)
    with override_settings(EXEML_LIMITS={**settings.EXEML_LIMITS, "inference_timeout_seconds": 0.05}):
        resp = owner.client.post(_url(service), tabular_request(tabular_bundle.eval_records[:1]), format="json")
    assert resp.status_code == 504


def test_a_prediction_past_the_deadline_is_stopped_and_answers_504(owner, store, tabular_bundle, settings, tmp_path):
    """The model would run for days: the deadline's watchdog stops the session run itself."""
    import json

    import numpy as np

    from serving.runtime import PredictorKey, predictor_cache
    from training.engine.predictors import Predictor

    (tmp_path / "bundle.json").write_text(json.dumps({"task_type": "predictive_analytics", "labels": []}))
    spinning_onnx(tmp_path / "model.onnx")

    class Spinning(Predictor):
        def predict(self, payload):
            return {"y": self.run_session(None, {"x": np.zeros(1, np.float32)})[0].tolist()}

    version = make_version(owner, store, tabular_bundle)
    service = running_service(owner, version)
    predictor_cache().get_or_load(PredictorKey(str(version.pk), "cpu"), lambda: Spinning(tmp_path))
    with override_settings(EXEML_LIMITS={**settings.EXEML_LIMITS, "inference_timeout_seconds": 0.3}):
        resp = owner.client.post(_url(service), tabular_request(tabular_bundle.eval_records[:1]), format="json")
    assert resp.status_code == 504 and resp.json()["code"] == "timeout"
    with owner.scope():
        flush_calls()
        assert Service.objects.get(pk=service.pk).failed_times == 1


def test_the_deadline_watch_terminates_only_calls_past_their_deadline():
    import time

    from serving.deadline import DeadlineWatch

    watch = DeadlineWatch(interval=0.01)
    with watch.watch(0.05) as late, watch.watch(3600) as patient:
        with watch.watch(0.0) as ended:
            pass
        time.sleep(0.3)
        assert late.terminate and not patient.terminate
    assert not ended.terminate  # its block ended before its deadline was looked at


def test_not_running_is_409(owner, store, tabular_bundle):
    version = make_version(owner, store, tabular_bundle)
    for status in ("deploying", "failed", "stopped"):
        service = running_service(owner, version, status=status)
        resp = owner.client.post(_url(service), tabular_request(tabular_bundle.eval_records[:1]), format="json")
        assert resp.status_code == 409 and resp.json()["status"] == status


def test_text_serves_what_training_evaluated(owner, store, text_bundle):
    service = running_service(owner, make_version(owner, store, text_bundle))
    for body, expected in zip(text_bundle.eval_records, text_bundle.eval_predictions, strict=True):
        resp = owner.client.post(_url(service), body, format="json")
        assert resp.status_code == 200, resp.content
        assert resp.json()["predicted_label"] == expected["predicted"]
        assert resp.json()["score"] == pytest.approx(expected["score"], abs=1e-6)
    resp = owner.client.post(_url(service), {"content": "hello"}, format="json")
    assert resp.status_code == 400 and "text" in resp.json()
    resp = owner.client.post(_url(service), {"text": 42}, format="json")
    assert resp.status_code == 400 and "string" in resp.json()["detail"]
    resp = owner.client.post(_url(service), '{"text": ', content_type="application/json")
    assert resp.status_code == 400
    resp = owner.client.post(_url(service), ["a"], format="json")
    assert resp.status_code == 400

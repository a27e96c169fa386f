"""Hostile request bodies and parameters: nesting, size, NUL bytes, wide CSVs."""

from __future__ import annotations

import io
import json
import uuid
from pathlib import Path

import pytest

from datasets.formats import FormatError
from datasets.formats.csv_table import MAX_COLUMNS, profile_csv
from exeml.api.parsers import MAX_JSON_DEPTH, json_depth_exceeds
from projects.models import Project
from tests.labeling.labelkit import make_dataset
from tests.serving.serving_helpers import TrainedBundle, make_version, running_service

pytestmark = pytest.mark.django_db


def _raw_json(client, url: str, body: str):
    return client.post(url, data=body, content_type="application/json")


def _nested(depth: int) -> str:
    return '{"name": ' + "[" * depth + "]" * depth + ', "type": "image_classification"}'


def _bundle(tmp_path: Path, task_type: str) -> TrainedBundle:
    (tmp_path / "bundle.json").write_text(json.dumps({"schema_version": 1, "task_type": task_type}))
    (tmp_path / "model.onnx").write_bytes(b"not used: the body is refused before the model loads")
    return TrainedBundle(tmp_path, task_type, [], {}, [])


def test_json_depth_helper_is_iterative():
    assert not json_depth_exceeds({"a": [1, {"b": 2}]})
    deep: list = []
    node = deep
    for _ in range(100_000):  # far past the recursion limit: must not raise
        node.append([])
        node = node[0]
    assert json_depth_exceeds(deep)
    assert not json_depth_exceeds(json.loads("[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH))
    assert json_depth_exceeds(json.loads("[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1)))


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 5, 50_000])
def test_deeply_nested_json_is_400_not_500(owner, depth):
    r = _raw_json(owner.client, "/api/v1/projects", _nested(depth))
    assert r.status_code == 400, r.content
    assert "nested" in r.json()["detail"]
    r = _raw_json(owner.client, "/api/v1/datasets", _nested(depth))
    assert r.status_code == 400, r.content
    with owner.scope():
        assert not Project.objects.exists()


def test_deeply_nested_inference_body_is_400(owner, store, tmp_path):
    service = running_service(owner, make_version(owner, store, _bundle(tmp_path, "text_classification")))
    r = _raw_json(owner.client, f"/v1/infers/{service.pk}", '{"text": ' + "[" * 50_000 + "]" * 50_000 + "}")
    assert r.status_code == 400, r.content


def test_huge_json_body_is_413_before_parsing(owner):
    body = json.dumps({"name": "p1", "type": "image_classification", "description": "x" * (17 * 1024 * 1024)})
    r = _raw_json(owner.client, "/api/v1/projects", body)
    assert r.status_code == 413, r.content[:200]
    assert r.json()["code"] == "too_large"
    with owner.scope():
        assert not Project.objects.exists()


def test_huge_inference_body_is_413(owner, store, tmp_path):
    service = running_service(owner, make_version(owner, store, _bundle(tmp_path, "text_classification")))
    r = _raw_json(owner.client, f"/v1/infers/{service.pk}", json.dumps({"text": "a" * (100 * 1024 * 1024)}))
    assert r.status_code == 413


@pytest.mark.parametrize(
    ("url", "params"),
    [
        ("/api/v1/projects", {"search": "a\x00b"}),
        ("/api/v1/projects", {"type": "\x00"}),
        ("/api/v1/datasets", {"search": "\x00"}),
        ("/api/v1/flavors", {"purpose": "\x00"}),
        ("/api/v1/storage/browse", {"path": "s3://exeml/\x00/"}),
    ],
)
def test_nul_bytes_in_query_params_are_400(owner, url, params):
    r = owner.client.get(url, params)
    assert r.status_code == 400, r.content


def test_nul_byte_in_url_part_is_400(owner):
    dataset = make_dataset(owner, "image_classification")
    r = owner.client.patch(f"/api/v1/datasets/{dataset.pk}/labels/a%00b", {"color": "#ffffff"}, format="json")
    assert r.status_code == 400, r.content
    r = owner.client.delete(f"/api/v1/datasets/{dataset.pk}/labels/a%00b")
    assert r.status_code == 400, r.content


def test_page_size_is_capped(owner):
    r = owner.client.get("/api/v1/projects", {"page_size": 10**9})
    assert r.status_code == 200


def test_wide_csv_is_refused_before_per_column_state_is_built():
    line = b",".join(b"%d" % i for i in range(150_000))  # a ~1 MB single line
    with pytest.raises(FormatError) as exc:
        profile_csv(io.BytesIO(b"\n".join([line] * 3)))
    assert f"more than the {MAX_COLUMNS}" in exc.value.reason


def test_ten_megabyte_single_line_csv_is_refused():
    with pytest.raises(FormatError) as exc:
        profile_csv(io.BytesIO(b"a" * (10 * 1024 * 1024)))
    assert "longer than" in exc.value.reason


def test_batch_of_100k_ids_is_refused_without_writes(owner):
    dataset = make_dataset(owner, "image_classification")
    ids = [str(uuid.uuid4()) for _ in range(100_000)]
    r = owner.client.post(f"/api/v1/datasets/{dataset.pk}/annotations/batch", {"sample_ids": ids, "add": ["a"]},
                          format="json")
    assert r.status_code == 400
    assert "sample_ids" in r.json()
    with owner.scope():
        assert not dataset.labels.exists()


def test_one_request_cannot_mint_thousands_of_labels(owner, store):
    from datasets.models import Label
    from tests.labeling.labelkit import detection_samples, image_samples

    dataset = make_dataset(owner, "image_classification")
    sample = image_samples(owner, store, dataset, n=1)[0]
    names = [f"l{i}" for i in range(5000)]
    r = owner.client.put(f"/api/v1/datasets/{dataset.pk}/samples/{sample.pk}/annotations", {"labels": names},
                         format="json")
    assert r.status_code == 400 and "labels" in r.json()
    r = owner.client.post(f"/api/v1/datasets/{dataset.pk}/annotations/batch",
                          {"sample_ids": [str(sample.pk)], "add": names}, format="json")
    assert r.status_code == 400 and "add" in r.json()
    detection = make_dataset(owner, "object_detection")
    box_sample = detection_samples(owner, store, detection, n=1)[0]
    boxes = [{"label": f"l{i}", "bbox": [1, 1, 5, 5]} for i in range(150)]
    url = f"/api/v1/datasets/{detection.pk}/samples/{box_sample.pk}/annotations"
    r = owner.client.put(url, {"objects": boxes}, format="json")
    assert r.status_code == 400 and "objects" in r.json()
    r = owner.client.put(url, {"objects": [{"label": "a", "bbox": [1, 1, 5, 5]}] * 50_000}, format="json")
    assert r.status_code == 400 and "objects" in r.json()
    with owner.scope():
        assert not Label.objects.exists()


def test_wav_headers_claiming_huge_sizes_stay_small():
    import struct
    import tracemalloc

    from datasets.formats.sound import inspect_wav
    from training.engine.preprocessing import InputError
    from training.engine.preprocessing.audio import decode_wav

    fmt = struct.pack("<IHHIIHH", 16, 1, 1, 16000, 32000, 2, 16)
    wav = (b"RIFF" + struct.pack("<I", 0xFFFFFFF0) + b"WAVE" + b"fmt " + fmt + b"data"
           + struct.pack("<I", 0xFFFFFFF0) + b"\x01\x00" * 24000)
    # Small in memory, whatever the header claims (4 GiB): measured in bytes allocated, not in
    # seconds, which depend on the machine.
    tracemalloc.start()
    try:
        info = inspect_wav(wav, min_seconds=0.1)
        assert info.duration == pytest.approx(1.5)  # from the bytes present, not the header
        signal, rate = decode_wav(wav)
        assert signal.shape == (24000,) and rate == 16000
        huge_rate = wav.replace(struct.pack("<I", 16000), struct.pack("<I", 0xFFFFFFFF), 1)
        try:
            decode_wav(huge_rate)
        except InputError:
            pass
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 64 * 2**20, peak


def test_xml_bomb_is_refused():
    from datasets.formats.voc import parse_voc

    bomb = (b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY a "aaaaaaaaaa">'
            + b"".join(b'<!ENTITY a%d "%s">' % (i, (b"&a;" if i == 1 else b"&a%d;" % (i - 1)) * 10) for i in range(1, 9))
            + b']><annotation><filename>&a8;</filename></annotation>')
    with pytest.raises(FormatError):
        parse_voc(bomb)


def test_inference_with_millions_of_records_is_refused(owner, store, tmp_path):
    from serving.infer_views import MAX_INFERENCE_RECORDS

    service = running_service(owner, make_version(owner, store, _bundle(tmp_path, "predictive_analytics")))
    records = [{}] * (MAX_INFERENCE_RECORDS + 1)
    r = owner.client.post(f"/v1/infers/{service.pk}", {"data": {"count": len(records), "req_data": records}},
                          format="json")
    assert r.status_code == 400 and "data" in r.json(), r.content[:200]


def test_dataset_creation_with_a_huge_label_list_is_refused(owner):
    from datasets.models import Dataset

    root = owner.tenant.default_root
    labels = [f"l{i}" for i in range(20_000)]
    r = owner.client.post("/api/v1/datasets", {"name": "big", "type": "image_classification", "labels": labels,
                                               "input_path": root + "i/", "output_path": root + "o/"},
                          format="json")
    assert r.status_code == 400, r.content[:200]
    r = owner.client.post("/api/v1/projects", {"name": "big", "type": "image_classification", "dataset": {
        "source": "create", "name": "big", "labels": labels, "input_path": root + "i/", "output_path": root + "o/"}},
        format="json")
    assert r.status_code == 400 and "dataset.labels" in r.json(), r.content[:200]
    with owner.scope():
        assert not Dataset.objects.exists()

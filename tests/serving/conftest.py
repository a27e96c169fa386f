"""Serving fixtures: real trained bundles (trained once per session) and tiny ONNX ones."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from serving.lookup import service_lookup_cache
from serving.metrics import call_recorder
from serving.runtime import predictor_cache
from tests.serving.serving_helpers import COLUMNS, TrainedBundle, tiny_image_onnx


@pytest.fixture(scope="session")
def tabular_bundle(tmp_path_factory) -> TrainedBundle:
    """A predictive-analytics bundle trained once per session by the real trainer."""
    pytest.importorskip("lightgbm")
    from tests.trainers.ml_data import tabular_csv
    from training.engine.spec import TrainSpec
    from training.engine.trainers import get_trainer

    root = tmp_path_factory.mktemp("tabular")
    tab = tabular_csv(root / "binary.csv", kind="binary", n=200)
    # The served model must be the evaluated one: these bundles check serving against evaluation.
    spec = TrainSpec(task_type="predictive_analytics", labels=(), tabular=tab, threads=1,
                     params={"refit_on_all": False})
    result = get_trainer("predictive_analytics").fit(spec, root / "work", time.monotonic() + 3.0, lambda p, f: None)
    lines = Path(tab.csv_path).read_text().splitlines()
    records = [dict(zip(COLUMNS, lines[i].split(","), strict=True)) for i in tab.eval_rows]
    return TrainedBundle(result.bundle_dir, "predictive_analytics", result.eval_predictions, result.metrics, records)


@pytest.fixture(scope="session")
def image_bundle(tmp_path_factory) -> TrainedBundle:
    root = tmp_path_factory.mktemp("image-bundle")
    tiny_image_onnx(root / "model.onnx")
    bundle = {
        "schema_version": 1,
        "task_type": "image_classification",
        "labels": ["red", "green", "blue"],
        "preprocessing": {"size": 8, "mean": [0.0, 0.0, 0.0], "std": [1.0, 1.0, 1.0], "resize": "squash"},
        "postprocessing": {"multilabel": False, "top_k": 3},
    }
    (root / "bundle.json").write_text(json.dumps(bundle))
    return TrainedBundle(root, "image_classification", [], {}, [])


@pytest.fixture(scope="session")
def sound_bundle(tmp_path_factory) -> TrainedBundle:
    """Only decoding is exercised with it (WAV checks come before the model)."""
    root = tmp_path_factory.mktemp("sound-bundle")
    tiny_image_onnx(root / "model.onnx")
    bundle = {"schema_version": 1, "task_type": "sound_classification", "labels": ["a", "b", "c"],
              "preprocessing": {"features": "summary", "sample_rate": 16000}, "postprocessing": {}}
    (root / "bundle.json").write_text(json.dumps(bundle))
    return TrainedBundle(root, "sound_classification", [], {}, [])


@pytest.fixture(autouse=True)
def _fresh_process_state():
    """Empty predictor LRU and service lookup cache; calls flushed only by the test's thread
    (the flusher thread has its own connection, which cannot see the test's uncommitted rows)."""
    recorder = call_recorder()
    recorder.background = False
    recorder.discard()
    predictor_cache().clear()
    service_lookup_cache.clear()
    yield
    predictor_cache().clear()
    service_lookup_cache.clear()
    recorder.discard()


@pytest.fixture(scope="session")
def text_bundle(tmp_path_factory) -> TrainedBundle:
    """A char n-gram text classifier trained once per session by the real trainer."""
    pytest.importorskip("sklearn")
    from tests.trainers.ml_data import EN, text_samples
    from training.engine.spec import TrainSpec
    from training.engine.trainers import get_trainer

    samples = text_samples("en")
    spec = TrainSpec(task_type="text_classification", labels=tuple(EN), samples=samples, threads=1,
                     preference="performance_first", params={"refit_on_all": False})
    root = tmp_path_factory.mktemp("text")
    result = get_trainer("text_classification").fit(spec, root / "work", time.monotonic() + 5.0, lambda p, f: None)
    texts = {s.id: s.text for s in spec.split("eval")}
    records = [{"text": texts[p["sample_id"]]} for p in result.eval_predictions]
    return TrainedBundle(result.bundle_dir, "text_classification", result.eval_predictions, result.metrics, records)

"""The web side's runtime: artifact cache, predictor LRU, no heavy imports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from serving import runtime
from serving.runtime import PredictorCache, PredictorKey
from tests.serving.serving_helpers import make_version, tabular_request

REPO = Path(__file__).resolve().parents[2]


def test_lru_evicts_and_loads_once_per_key():
    cache = PredictorCache(2)
    loads: list[str] = []
    gate = threading.Event()

    def loader(name):
        def load():
            gate.wait(2)
            loads.append(name)
            return name
        return load

    key_a = PredictorKey("a", "cpu")
    threads = [threading.Thread(target=cache.get_or_load, args=(key_a, loader("a"))) for _ in range(4)]
    for t in threads:
        t.start()
    gate.set()
    for t in threads:
        t.join()
    assert loads == ["a"]
    cache.get_or_load(PredictorKey("b", "cpu"), loader("b"))
    cache.get(key_a)  # a is now the most recent
    cache.get_or_load(PredictorKey("c", "cpu"), loader("c"))
    assert cache.get(PredictorKey("b", "cpu")) is None and cache.get(key_a) == "a" and len(cache) == 2


def test_providers_fall_back_to_cpu_with_a_warning():
    import onnxruntime as ort

    assert runtime.providers_for("cpu") == (["CPUExecutionProvider"], "")
    providers, warning = runtime.providers_for("gpu")
    if "CUDAExecutionProvider" in ort.get_available_providers():
        assert providers[0] == "CUDAExecutionProvider" and warning == ""
    else:
        assert providers == ["CPUExecutionProvider"] and warning == runtime.CUDA_WARNING


@pytest.mark.django_db
def test_artifact_cache_downloads_once(owner, store, tabular_bundle):
    version = make_version(owner, store, tabular_bundle)
    folder = runtime.artifact_fetch(version=version)
    assert (folder / "model.onnx").is_file() and (folder / runtime.COMPLETE_MARKER).is_file()
    mtime = (folder / "model.onnx").stat().st_mtime_ns
    assert runtime.artifact_fetch(version=version) == folder
    assert (folder / "model.onnx").stat().st_mtime_ns == mtime


def test_web_side_never_imports_torch(tabular_bundle):
    """The web process's imports + a tabular prediction in a fresh interpreter: no torch,
    librosa, LightGBM, sklearn or transformers."""
    script = f"""
import json, sys
import django
django.setup()
import exeml.urls  # the whole web process: every app's views and URLs
from serving import infer_views, runtime
from training.engine.predictors import load_predictor
p = load_predictor({str(tabular_bundle.bundle_dir)!r}, intra_op_threads=runtime.intra_op_threads())
out = p.predict({json.dumps(tabular_request(tabular_bundle.eval_records[:2]))})
heavy = sorted(m for m in ("torch", "ultralytics", "librosa", "lightgbm", "sklearn", "transformers") if m in sys.modules)
print(json.dumps({{"heavy": heavy, "n": len(out["resp_data"])}}))
"""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "exeml.settings"}
    proc = subprocess.run([sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result == {"heavy": [], "n": 2}

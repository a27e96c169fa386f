"""The web side's runtime: artifact cache, predictor LRU, no heavy imports."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
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


def test_providers_fall_back_to_cpu_with_a_warning(caplog):
    import onnxruntime as ort

    assert runtime.providers_for("cpu") == (["CPUExecutionProvider"], "")
    with caplog.at_level("WARNING", logger="serving.runtime"):
        providers, warning = runtime.providers_for("gpu")
    if "CUDAExecutionProvider" in ort.get_available_providers():
        assert providers[0] == "CUDAExecutionProvider" and warning == ""
    else:
        assert providers == ["CPUExecutionProvider"] and warning == runtime.CUDA_WARNING
        assert runtime.CUDA_WARNING in caplog.text  # the fallback leaves a log line


@pytest.mark.django_db
def test_artifact_cache_downloads_once(owner, store, tabular_bundle):
    version = make_version(owner, store, tabular_bundle)
    folder = runtime.artifact_fetch(version=version)
    assert (folder / "model.onnx").is_file() and (folder / runtime.COMPLETE_MARKER).is_file()
    mtime = (folder / "model.onnx").stat().st_mtime_ns
    assert runtime.artifact_fetch(version=version) == folder
    assert (folder / "model.onnx").stat().st_mtime_ns == mtime


@pytest.mark.django_db
def test_the_training_side_features_stay_in_storage(owner, store, tabular_bundle, tmp_path):
    bundle = tmp_path / "bundle"
    shutil.copytree(tabular_bundle.bundle_dir, bundle)
    (bundle / runtime.FEATURES_FILE).write_bytes(b"features of the owner's items")
    version = make_version(owner, store, dataclasses.replace(tabular_bundle, bundle_dir=bundle))
    folder = runtime.artifact_fetch(version=version)
    assert (folder / "model.onnx").is_file() and (folder / "bundle.json").is_file()
    assert not (folder / runtime.FEATURES_FILE).exists()


@pytest.mark.django_db(transaction=True)
def test_processes_sharing_the_cache_put_a_bundle_once_and_never_replace_it_under_a_reader(
    owner, store, tabular_bundle
):
    """A host's web processes and its worker share the artifact cache. Four processes fetch
    the same bundle at once: one downloads it, the others wait for it and use that folder (the
    same inode). Before the per-version file lock, a process that finished its own download
    second removed the folder the first had just put and was loading a model from
    ("NO_SUCHFILE ... model.onnx", seen when a redelivered deploy met the one running)."""
    import multiprocessing

    from django.db import connections

    version = make_version(owner, store, tabular_bundle)
    assert version.tenant is not None  # loaded before the fork: the children need no query for it
    connections.close_all()  # a forked child must not share the parent's connection
    ctx = multiprocessing.get_context("fork")
    start = ctx.Barrier(4)
    results = ctx.Queue()

    def fetch() -> None:
        try:
            start.wait(30)
            folder = runtime.artifact_fetch(version=version)
            inode = folder.stat().st_ino
            readable = (folder / "model.onnx").read_bytes()[:4] != b""
            results.put((inode, readable, ""))
        except Exception as exc:  # reported to the parent, which fails the test with it
            results.put((None, False, repr(exc)))
        finally:
            connections.close_all()

    children = [ctx.Process(target=fetch) for _ in range(4)]
    for child in children:
        child.start()
    seen = [results.get(timeout=120) for _ in children]
    for child in children:
        child.join(30)
    assert all(not error for _, _, error in seen), seen
    assert all(readable for _, readable, _ in seen), seen
    final = runtime.artifact_dir(version.pk).stat().st_ino
    assert {inode for inode, _, _ in seen} == {final}, (seen, final)


@pytest.mark.django_db(transaction=True)
def test_threads_of_one_process_put_a_bundle_once(owner, store, tabular_bundle):
    """The same file lock serves the threads of one web process (each opens the lock anew)."""
    version = make_version(owner, store, tabular_bundle)
    assert version.tenant is not None
    start = threading.Barrier(4)
    seen: list[int] = []

    def fetch() -> None:
        start.wait(30)
        seen.append(runtime.artifact_fetch(version=version).stat().st_ino)

    threads = [threading.Thread(target=fetch) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(seen) == 4 and set(seen) == {runtime.artifact_dir(version.pk).stat().st_ino}, seen


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

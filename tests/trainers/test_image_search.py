"""Image classification through the AutoML search: baselines that win where they should,
exact ONNX export for every candidate family and their ensembles."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("efficientnet_lite_pytorch")

from training.engine.budget import Budget  # noqa: E402
from training.engine.models.image import (  # noqa: E402
    OUTPUT,
    EmbedModel,
    FineTuneModel,
    FineTunePlan,
    ImageData,
    PixelModel,
    onnx_probabilities,
)
from training.engine.onnx_blend import blend_models  # noqa: E402
from training.engine.predictors import load_predictor  # noqa: E402
from training.engine.preprocessing.image import pixel_features, resize_square, to_input  # noqa: E402
from training.engine.spec import TrainSample, TrainSpec  # noqa: E402
from training.engine.trainers import get_trainer  # noqa: E402
from training.engine.trainers.image_output import export  # noqa: E402

TOLERANCE = 1e-5


def digit_samples(folder: Path, *, per_class_train: int, per_class_eval: int, classes: int = 10) -> list[TrainSample]:
    """sklearn's 8x8 handwritten digits, upscaled to 32 px grayscale PNGs."""
    from PIL import Image
    from sklearn.datasets import load_digits

    digits = load_digits()
    folder.mkdir(parents=True, exist_ok=True)
    samples, used = [], dict.fromkeys(range(classes), 0)
    for i, (img, target) in enumerate(zip(digits.images, digits.target, strict=True)):
        target = int(target)
        if target >= classes or used[target] >= per_class_train + per_class_eval:
            continue
        usage = "train" if used[target] < per_class_train else "eval"
        used[target] += 1
        path = folder / f"digit{i:04d}.png"
        Image.fromarray((img * 255 / 16).astype(np.uint8), mode="L").resize((32, 32), Image.NEAREST).save(path)
        samples.append(TrainSample(id=f"g{i}", usage=usage, path=str(path), labels=(str(target),), width=32, height=32))
    return samples


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    root = tmp_path_factory.mktemp("digits")
    samples = digit_samples(root / "data", per_class_train=8, per_class_eval=3)
    spec = TrainSpec(
        task_type="image_classification",
        labels=tuple(str(d) for d in range(10)),
        samples=tuple(samples),
        threads=2,
        preference="accuracy_first",
        params={"finetune": False, "refit_on_all": False},
    )
    result = get_trainer("image_classification").fit(spec, root / "work", time.monotonic() + 120, lambda *a, **k: None)
    return spec, result


def test_pixel_baseline_wins_on_digits(digits):
    spec, result = digits
    search = result.evaluation["search"]
    board = {row["name"]: row for row in search["leaderboard"]}
    assert {"pixel-16-gray", "embed-lite0"} <= set(board)  # both baselines always run
    assert [row["name"] for row in search["leaderboard"][:2]] == ["pixel-16-gray", "embed-lite0"]
    pixel_best = max(r["score"] for r in board.values() if r["family"] == "pixel" and r["status"] == "done")
    embed_best = max(r["score"] for r in board.values() if r["family"] == "embed" and r["status"] == "done")
    assert pixel_best > embed_best  # the data set is one where raw pixels beat ImageNet features
    weights = search["selection"]["weights"]
    chosen_pixel = any(board[name]["family"] == "pixel" for name in weights)
    chosen_score = max(board[name]["score"] for name in weights) if len(weights) == 1 else None
    assert chosen_pixel or (chosen_score is not None and chosen_score >= pixel_best)
    assert result.metrics["accuracy"] >= 0.8


def test_search_bundle_serves_the_evaluation(digits):
    spec, result = digits
    bundle = json.loads((result.bundle_dir / "bundle.json").read_text())
    assert bundle["postprocessing"]["output"] == "probabilities"
    assert bundle["preprocessing"]["families"] and bundle["train_params"]["served_model"] == "the evaluated model"
    assert result.evaluation["onnx_check"]["max_abs_diff"] <= TOLERANCE
    predictor = load_predictor(result.bundle_dir)
    for s, expected in zip(spec.split("eval"), result.eval_predictions, strict=True):
        response = predictor.predict({"images": Path(s.path).read_bytes()})
        assert response["predicted_label"] == expected["predicted"]
        assert response["scores"] == expected["scores"]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from PIL import Image

    root = tmp_path_factory.mktemp("tiny")
    samples = digit_samples(root, per_class_train=4, per_class_eval=2, classes=3)
    pixels = np.stack([resize_square(Image.open(s.path).convert("RGB"), size=64) for s in samples])
    y = np.array([int(s.labels[0]) for s in samples])
    return ImageData(pixels=pixels, y=y, n_classes=3)


def test_pixel_features_are_block_means():
    x = np.arange(2 * 3 * 4 * 4, dtype=np.float32).reshape(2, 3, 4, 4)
    rgb = pixel_features(x, grid=2, gray=False)
    assert rgb.shape == (2, 12) and rgb[0, 0] == pytest.approx(np.mean([0, 1, 4, 5]))
    gray = pixel_features(x, grid=2, gray=True)
    assert gray.shape == (2, 4) and gray[0, 0] == pytest.approx(np.mean([[0, 1, 4, 5], [16, 17, 20, 21], [32, 33, 36, 37]]))
    assert to_input(np.full((1, 2, 2, 3), 255, np.uint8), mean=(0, 0, 0), std=(1, 1, 1)).max() == 1.0


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda d: PixelModel(d, grid=16, gray=True, c=1.0).fit(np.arange(12)), id="pixel-gray"),
        pytest.param(lambda d: PixelModel(d, grid=12, gray=False, c=0.5).fit(np.arange(12)), id="pixel-rgb-cropped"),
        pytest.param(lambda d: EmbedModel(d, c=1.0).fit(np.arange(12)), id="embed"),
        pytest.param(
            lambda d: FineTuneModel(d, FineTunePlan(flip=True, max_epochs=1)).fit(np.arange(12), Budget(time.monotonic() + 60)),
            id="finetune",
        ),
    ],
)
def test_every_family_exports_exactly(tiny, make):
    model = make(tiny)
    rows = np.arange(12, 18)
    python = model.predict(rows)
    served = onnx_probabilities(model.onnx(), tiny.inputs(rows))
    assert python.shape == (6, 3) and np.allclose(python.sum(axis=1), 1.0)
    assert np.max(np.abs(python - served)) <= TOLERANCE


def test_ensembles_export_exactly(tiny):
    from training.engine.ensemble import Ensemble

    models = {
        "p": PixelModel(tiny, grid=8, gray=True, c=1.0).fit(np.arange(12)),
        "e": EmbedModel(tiny, c=1.0).fit(np.arange(12)),
    }
    ensemble = Ensemble(models, {"p": 0.6, "e": 0.4})
    rows = np.arange(12, 18)
    served = onnx_probabilities(export(ensemble), tiny.inputs(rows))
    assert np.max(np.abs(ensemble.predict(rows) - served)) <= TOLERANCE
    single = blend_models([(models["p"].onnx(), OUTPUT)], [1.0], output_name=OUTPUT)
    assert np.max(np.abs(models["p"].predict(rows) - onnx_probabilities(single, tiny.inputs(rows)))) <= TOLERANCE


def test_images_cached_on_disk_train_the_same_model_as_in_memory(tmp_path, monkeypatch):
    """A set too large for memory is cached as a map on disk (pixel_cache): the search sees
    the same pixels, so it scores and serves exactly what the in-memory run does, and the
    cache is gone once the bundle is written."""
    import training.engine.preprocessing.pixel_cache as pixel_cache

    samples = digit_samples(tmp_path / "data", per_class_train=6, per_class_eval=2, classes=4)
    spec = TrainSpec(
        task_type="image_classification", labels=("0", "1", "2", "3"), samples=tuple(samples), threads=2,
        preference="performance_first", params={"finetune": False, "refit_on_all": False, "max_trials": 3},
    )
    runs = {}
    for where, limit in (("memory", 10**12), ("disk", 0)):
        monkeypatch.setattr(pixel_cache, "IN_MEMORY_BYTES", limit)
        work = tmp_path / where
        result = get_trainer("image_classification").fit(spec, work, time.monotonic() + 300, lambda *a, **k: None)
        assert not (work / "pixel-cache").exists()
        runs[where] = result
    disk, memory = runs["disk"], runs["memory"]
    board = [(r["name"], r["score"]) for r in disk.evaluation["search"]["leaderboard"]]
    assert len(board) >= 2 and board == [(r["name"], r["score"]) for r in memory.evaluation["search"]["leaderboard"]]
    assert disk.eval_predictions == memory.eval_predictions
    assert disk.evaluation["onnx_check"]["max_abs_diff"] <= TOLERANCE


def test_the_search_keeps_time_for_an_ending_that_grows_with_the_eval_images():
    """The ending (refits, the predictor over every EVAL image, the served check) is reserved
    from the measured decode and backbone seconds, not the default few seconds, and never
    more than half the budget."""
    from training.engine.live_report import LiveReport
    from training.engine.search import Candidate, Search
    from training.engine.trainers.image_search import _reserve_ending
    from training.engine.validation import make_folds

    y = np.array([0, 1] * 20)

    class Knows:  # a confident model of the labels
        def predict(self, rows):
            return np.eye(2)[y[rows]] * 0.8 + 0.1

    budget = Budget(time.monotonic() + 600)
    search = Search(y=y, rows=np.arange(40), folds=make_folds(y, classification=True, seed=0), kind="classification",
                    budget=budget, report=LiveReport(lambda *a, **k: None, budget, metric="accuracy"), max_trials=1)
    search.run([Candidate("embed-lite0", "embed", lambda rows, b: Knows(), baseline=True)])
    data = ImageData(pixels=np.zeros((1, 8, 8, 3), np.uint8), y=y[:1], n_classes=2, decode_seconds=0.004,
                     backbone_seconds=0.05)
    default = budget.export_reserve
    _reserve_ending(search, budget, data, n_eval=1000)
    assert budget.export_reserve >= 1000 * (0.004 + 2 * 0.05) > default
    _reserve_ending(search, budget, data, n_eval=100_000)
    assert budget.export_reserve == pytest.approx(0.5 * budget.total, rel=0.01)

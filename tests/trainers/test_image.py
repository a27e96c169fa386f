"""Image classification trainer + predictor on tiny generated shapes (CPU, seconds)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("efficientnet_lite_pytorch")

from tests.trainers.vision_data import NetworkBlock, classification_samples  # noqa: E402
from training.engine.predictors import PredictionError, load_predictor  # noqa: E402
from training.engine.predictors.image import ImagePredictor  # noqa: E402
from training.engine.preprocessing.image import classification_input, decode_image, softmax  # noqa: E402
from training.engine.spec import StopTraining, TrainSpec  # noqa: E402
from training.engine.trainers import get_trainer  # noqa: E402
from training.engine.trainers.image import WEIGHTS_FILE, build_model, load_base_weights  # noqa: E402

LABELS = ("circle", "square")


def _fit(spec: TrainSpec, workdir: Path, budget: float):
    return get_trainer("image_classification").fit(
        spec, workdir, time.monotonic() + budget, lambda phase, f: None
    )


@pytest.fixture(scope="module")
def single(tmp_path_factory):
    root = tmp_path_factory.mktemp("img")
    samples = classification_samples(
        root / "data", labels=LABELS, per_label_train=10, per_label_eval=4, size=96
    )
    spec = TrainSpec(
        task_type="image_classification",
        labels=LABELS,
        samples=tuple(samples),
        threads=2,
        params={"image_size": 96, "max_epochs": 8, "search": False},  # the fine-tune path (multi-label, incremental)
    )
    with pytest.MonkeyPatch.context() as mp:
        block = NetworkBlock(mp)
        result = _fit(spec, root / "work", 60)
    return spec, result, block.attempts


def test_trains_end_to_end_with_evaluation(single):
    spec, result, attempts = single
    assert attempts == []
    assert {"accuracy", "precision", "recall", "f1", "roc_auc"} <= set(result.metrics)
    assert result.metrics["accuracy"] >= 0.75  # shapes on noise; pretrained backbone gets ~1.0
    ev = result.evaluation
    assert ev["kind"] == "classification" and ev["labels"] == list(LABELS)
    assert np.asarray(ev["confusion_matrix"]).sum() == 8
    assert [p["sample_id"] for p in result.eval_predictions] == [s.id for s in spec.split("eval")]
    bundle = json.loads((result.bundle_dir / "bundle.json").read_text())
    assert bundle["task_type"] == "image_classification"
    assert bundle["preprocessing"]["size"] == 96
    assert bundle["postprocessing"]["activation"] == "softmax"
    assert (result.bundle_dir / "model.onnx").is_file() and (result.bundle_dir / WEIGHTS_FILE).is_file()


def test_onnx_equals_torch_on_eval_split(single):
    import onnxruntime as ort
    import torch

    spec, result, _ = single
    bundle = json.loads((result.bundle_dir / "bundle.json").read_text())
    pre = bundle["preprocessing"]
    saved = torch.load(result.bundle_dir / WEIGHTS_FILE, weights_only=True)
    model = build_model(saved["model_name"], len(LABELS), pretrained=False)
    model.load_state_dict(saved["state_dict"])
    model.eval()
    session = ort.InferenceSession(str(result.bundle_dir / "model.onnx"), providers=["CPUExecutionProvider"])
    for s in spec.split("eval"):
        x = classification_input(decode_image(s.path), size=pre["size"], mean=pre["mean"], std=pre["std"])
        with torch.no_grad():
            p_torch = softmax(model(torch.from_numpy(x)).numpy().astype(np.float64))
        p_onnx = softmax(session.run(None, {"input": x})[0].astype(np.float64))
        np.testing.assert_allclose(p_onnx, p_torch, atol=1e-4)


def test_predictor_serves_the_evaluation_predictions(single):
    spec, result, _ = single
    predictor = load_predictor(result.bundle_dir)
    assert isinstance(predictor, ImagePredictor)
    assert predictor.warmup()["predicted_label"] in LABELS
    for s, expected in zip(spec.split("eval"), result.eval_predictions, strict=True):
        response = predictor.predict({"images": Path(s.path).read_bytes()})
        assert response["predicted_label"] == expected["predicted"]
        assert response["scores"] == expected["scores"]
        assert all(
            isinstance(score, str) and len(score.split(".")[1]) == 3 for _, score in response["scores"]
        )


def test_predictor_rejects_text_and_truncated_images(single, tmp_path):
    _, result, _ = single
    predictor = ImagePredictor(result.bundle_dir)
    with pytest.raises(PredictionError):
        predictor.predict(b"this is a text file, not an image\n")
    jpeg = Path(single[0].split("eval")[0].path).read_bytes()
    with pytest.raises(PredictionError):
        predictor.predict(jpeg[: len(jpeg) // 2])
    with pytest.raises(PredictionError):
        predictor.predict({"text": "x"})


def test_incremental_training_starts_from_previous_weights(single, tmp_path):
    import torch

    spec, result, _ = single
    labels = ("circle", "square", "triangle")
    # Head rows of known labels are copied, the new label's row is fresh, the backbone is the old one.
    model = build_model("efficientnet-lite0", len(labels), pretrained=False)
    load_base_weights(model, result.bundle_dir, list(labels))
    old = torch.load(result.bundle_dir / WEIGHTS_FILE, weights_only=True)["state_dict"]
    new = model.state_dict()
    assert torch.equal(new["_fc.weight"][:2], old["_fc.weight"])
    assert torch.equal(new["_fc.bias"][:2], old["_fc.bias"])
    for key in ("_conv_stem.weight", "_bn0.running_mean", "_conv_head.weight"):
        assert torch.equal(new[key], old[key])

    samples = classification_samples(
        tmp_path / "data", labels=labels, per_label_train=4, per_label_eval=2, size=96, seed=3
    )
    spec2 = TrainSpec(
        task_type="image_classification",
        labels=labels,
        samples=tuple(samples),
        threads=2,
        base_bundle_dir=str(result.bundle_dir),
        params={"image_size": 96, "max_epochs": 1},
    )
    result2 = _fit(spec2, tmp_path / "work", 30)
    bundle = json.loads((result2.bundle_dir / "bundle.json").read_text())
    assert bundle["labels"] == list(labels)
    assert bundle["train_params"]["incremental_from"] == str(result.bundle_dir)
    assert len(result2.evaluation["per_class"]) == 3


def test_multilabel_images_train_with_sigmoid(tmp_path):
    samples = classification_samples(
        tmp_path / "data", labels=LABELS, per_label_train=6, per_label_eval=3, size=96, multilabel=True
    )
    assert any(len(s.labels) == 2 for s in samples if s.usage == "train")
    spec = TrainSpec(
        task_type="image_classification",
        labels=LABELS,
        samples=tuple(samples),
        threads=2,
        params={"image_size": 96, "max_epochs": 3},
    )
    result = _fit(spec, tmp_path / "work", 30)
    assert result.evaluation["kind"] == "multilabel"
    assert {"accuracy", "precision", "recall", "f1"} <= set(result.metrics)
    bundle = json.loads((result.bundle_dir / "bundle.json").read_text())
    assert bundle["postprocessing"]["activation"] == "sigmoid" and bundle["postprocessing"]["multilabel"]
    predictor = load_predictor(result.bundle_dir)
    s = spec.split("eval")[0]
    response = predictor.predict(Path(s.path).read_bytes())
    expected = result.eval_predictions[0]
    assert response["scores"] == expected["scores"]
    assert response["predicted_labels"] == expected["predicted"]


def test_stop_from_progress_propagates(tmp_path):
    samples = classification_samples(
        tmp_path / "data", labels=LABELS, per_label_train=3, per_label_eval=1, size=64
    )
    spec = TrainSpec(
        task_type="image_classification", labels=LABELS, samples=tuple(samples), params={"image_size": 64}
    )

    def progress(phase: str, fraction: float) -> None:
        if phase != "prepare":  # the first beat after preparing (a search's or an epoch's)
            raise StopTraining()

    with pytest.raises(StopTraining):
        get_trainer("image_classification").fit(spec, tmp_path / "work", time.monotonic() + 30, progress)
    assert not (tmp_path / "work" / "bundle" / "model.onnx").exists()


def test_validate_reports_unusable_specs(tmp_path):
    samples = classification_samples(
        tmp_path / "data", labels=("circle",), per_label_train=2, per_label_eval=1, size=64
    )
    spec = TrainSpec(task_type="image_classification", labels=("circle",), samples=tuple(samples))
    reasons = get_trainer("image_classification").validate(spec)
    assert any("2 labels" in r for r in reasons)

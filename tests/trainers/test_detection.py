"""Object detection trainer + predictor: ultralytics offline on tiny generated shapes."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("ultralytics.utils.patches", reason="ultralytics missing")
# Importing ultralytics patches PIL.Image.open for the whole process: the bootstrap undoes
# that, so apply it at collection time, before any other test opens an image.
from training.engine.trainers.yolo_bootstrap import ensure_offline  # noqa: E402

ensure_offline()

from tests.trainers.vision_data import NetworkBlock, detection_samples  # noqa: E402
from training.engine.detection_metrics import detection_metrics  # noqa: E402
from training.engine.predictors import PredictionError, load_predictor  # noqa: E402
from training.engine.predictors.detection import DetectionPredictor  # noqa: E402
from training.engine.preprocessing.image import (  # noqa: E402
    box_to_yolo,
    decode_detections,
    decode_image,
    letterbox,
    letterbox_params,
    unletterbox_boxes,
    yolo_to_box,
)
from training.engine.spec import Box, TrainSample, TrainSpec  # noqa: E402
from training.engine.trainers import get_trainer  # noqa: E402
from training.engine.trainers.detection import WEIGHTS_FILE  # noqa: E402
from training.engine.trainers.detection_data import yolo_label_text  # noqa: E402

LABELS = ("circle", "square")
IMGSZ = 128


def _fit(spec: TrainSpec, workdir: Path, budget: float):
    return get_trainer("object_detection").fit(
        spec, workdir, time.monotonic() + budget, lambda phase, f: None
    )


def test_box_round_trips_through_yolo_label_text():
    line = box_to_yolo(1, 10, 20, 50, 80, width=128, height=96)
    assert line.split()[0] == "1"
    assert yolo_to_box(line, width=128, height=96) == (1, 10, 20, 50, 80)
    odd = box_to_yolo(0, 3.25, 7.5, 101.75, 95.0, width=128, height=96)
    assert yolo_to_box(odd, width=128, height=96) == (0, 3.25, 7.5, 101.75, 95.0)
    sample = TrainSample(
        id="a",
        usage="train",
        path="x.png",
        boxes=(Box("square", 10, 20, 50, 80), Box("circle", -5, 0, 200, 40)),  # second one exceeds the image
    )
    text = yolo_label_text(sample, list(LABELS), 128, 96)
    lines = text.strip().split("\n")
    assert lines[0] == line
    assert yolo_to_box(lines[1], width=128, height=96) == (0, 0, 0, 128, 40)  # clipped to the image


def test_letterbox_round_trip_and_matches_ultralytics_arithmetic():
    from PIL import Image

    img = Image.new("RGB", (128, 96), (10, 20, 30))
    x, lb = letterbox(img, 64)
    assert x.shape == (1, 3, 64, 64) and lb == letterbox_params(128, 96, 64)
    assert (lb.ratio, lb.pad_x, lb.pad_y) == (0.5, 0, 8)
    assert np.allclose(x[0, :, 0, 0], 114 / 255) and np.allclose(
        x[0, :, 32, 32], np.array([10, 20, 30]) / 255
    )
    boxes = np.array([[10.0, 20.0, 50.0, 80.0]])
    inside = boxes * lb.ratio + np.array([lb.pad_x, lb.pad_y, lb.pad_x, lb.pad_y])
    np.testing.assert_allclose(unletterbox_boxes(inside, lb), boxes, atol=1e-4)


def test_detection_metrics_perfect_and_empty():
    truth = [[(0, np.array([0, 0, 10, 10.0]))], [(1, np.array([5, 5, 20, 20.0]))]]
    perfect = [
        (np.array([[0, 0, 10, 10.0]]), np.array([0.9]), np.array([0])),
        (np.array([[5, 5, 20, 20.0]]), np.array([0.8]), np.array([1])),
    ]
    metrics, evaluation = detection_metrics(truth, perfect, list(LABELS))
    assert metrics["map50"] == pytest.approx(1.0, abs=0.01) and metrics["precision"] == 1.0
    empty = [(np.zeros((0, 4)), np.zeros(0), np.zeros(0, dtype=int))] * 2
    metrics, _ = detection_metrics(truth, empty, list(LABELS))
    assert set(metrics.values()) == {0.0}
    assert set(metrics) == {"map50", "map50_95", "precision", "recall", "f1", "map50_all", "map50_95_all"}


def test_detection_metrics_count_only_what_the_service_returns():
    truth = [[(0, np.array([0, 0, 10, 10.0])), (0, np.array([20, 20, 30, 30.0]))]]
    # A sure hit, a false positive at 0.4 and a second hit only at 0.1 (under the service's 0.25).
    preds = [(np.array([[0, 0, 10, 10.0], [50, 50, 60, 60], [20, 20, 30, 30]]), np.array([0.9, 0.4, 0.1]), np.array([0, 0, 0]))]
    metrics, ev = detection_metrics(truth, preds, ["circle"], conf_threshold=0.25)
    assert metrics["precision"] == pytest.approx(0.5) and metrics["recall"] == pytest.approx(0.5)
    assert metrics["f1"] == pytest.approx(0.5)
    # Recall stops at 0.5 at this cut (the 101-point envelope then falls linearly to 0 at recall 1);
    # ranking every detection finds the second box too.
    assert 0.5 <= metrics["map50"] < 0.7 and metrics["map50_all"] > 0.8
    curve = {row["threshold"]: row for row in ev["threshold_curve"]}
    assert curve[0.05]["recall"] == 1.0 and curve[0.05]["precision"] == pytest.approx(2 / 3)
    assert curve[0.5]["precision"] == 1.0 and curve[0.5]["recall"] == 0.5
    assert curve[0.95]["precision"] == 0.0 and curve[0.95]["recall"] == 0.0
    # max_detections cuts per image like the service does.
    capped, _ = detection_metrics(truth, preds, ["circle"], conf_threshold=0.05, max_detections=1)
    assert capped["precision"] == 1.0 and capped["recall"] == 0.5


def test_detection_evaluation_stores_per_box_confidence_at_iou_50():
    truth = [[(0, np.array([0, 0, 10, 10.0])), (0, np.array([20, 20, 30, 30.0]))], [(1, np.array([5, 5, 20, 20.0]))]]
    # Image 1: a hit at 0.9, a miss at 0.4, the second box found only at 0.1; image 2: a box
    # of the right class off by far (IoU < 0.5) at 0.6.
    preds = [
        (np.array([[0, 0, 10, 10.0], [50, 50, 60, 60], [20, 20, 30, 30]]), np.array([0.9, 0.4, 0.1]), np.array([0, 0, 0])),
        (np.array([[40, 40, 60, 60.0]]), np.array([0.6]), np.array([1])),
    ]
    _, ev = detection_metrics(truth, preds, ["circle", "square"])
    conf = ev["confidence"]
    assert conf["unit"] == "boxes" and conf["predictions"] == 4 and conf["total"] == 3
    at = {p["threshold"]: p for p in conf["points"]}
    assert (at[0.05]["kept"], at[0.05]["correct"]) == (4, 2)
    assert at[0.05]["precision"] == 0.5 and at[0.05]["recall"] == pytest.approx(2 / 3, abs=1e-5)
    assert (at[0.5]["kept"], at[0.5]["correct"], at[0.5]["precision"]) == (2, 1, 0.5)
    assert (at[0.7]["kept"], at[0.7]["precision"], at[0.7]["recall"]) == (1, 1.0, pytest.approx(1 / 3, abs=1e-5))
    # The service's per-image cap applies as in the threshold curve.
    _, capped = detection_metrics(truth, preds, ["circle", "square"], max_detections=1)
    assert {p["threshold"]: p for p in capped["confidence"]["points"]}[0.05]["kept"] == 2


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("det")
    samples = detection_samples(root / "data", labels=LABELS, n_train=12, n_eval=4, size=(128, 96))
    spec = TrainSpec(
        task_type="object_detection",
        labels=LABELS,
        samples=tuple(samples),
        threads=2,
        params={"imgsz": IMGSZ},
    )
    with pytest.MonkeyPatch.context() as mp:
        block = NetworkBlock(mp)
        result = _fit(spec, root / "work", 25)
        attempts = list(block.attempts)
    return spec, result, attempts


def test_trains_offline_end_to_end(trained):
    spec, result, attempts = trained
    assert attempts == []  # no DNS lookup, no connection while training, exporting, evaluating
    assert {"map50", "map50_95", "precision", "recall"} <= set(result.metrics)
    ev = result.evaluation
    assert ev["kind"] == "detection" and ev["labels"] == list(LABELS)
    assert [p["label"] for p in ev["per_class"]] == list(LABELS)
    assert {"label", "ap50", "ap50_95", "precision", "recall", "f1", "support"} <= set(ev["per_class"][0])
    assert ev["conf_threshold"] == 0.25 and len(ev["threshold_curve"]) >= 20
    assert "backbone: EfficientNet-Lite0" in " ".join(result.log)  # pretrained, not from scratch
    assert sum(p["support"] for p in ev["per_class"]) == sum(len(s.boxes) for s in spec.split("eval"))
    assert [p["sample_id"] for p in result.eval_predictions] == [s.id for s in spec.split("eval")]
    assert set(result.eval_predictions[0]["predicted"]) == {
        "detection_classes",
        "detection_boxes",
        "detection_scores",
    }
    bundle = json.loads((result.bundle_dir / "bundle.json").read_text())
    assert bundle["preprocessing"] == {"kind": "letterbox", "size": IMGSZ, "fill": 114, "scale": 1 / 255}
    assert bundle["postprocessing"]["conf_threshold"] == 0.25
    assert bundle["train_params"]["epochs"] >= 1
    assert (result.bundle_dir / "model.onnx").is_file() and (result.bundle_dir / WEIGHTS_FILE).is_file()


def test_onnx_equals_torch_forward(trained):
    import onnxruntime as ort
    import torch

    from training.engine.trainers.yolo_bootstrap import yolo_class

    spec, result, _ = trained
    model = yolo_class()(str(result.bundle_dir / WEIGHTS_FILE), task="detect").model.float().eval()
    session = ort.InferenceSession(str(result.bundle_dir / "model.onnx"), providers=["CPUExecutionProvider"])
    for s in spec.split("eval"):
        x, lb = letterbox(decode_image(s.path), IMGSZ)
        with torch.no_grad():
            out = model(torch.from_numpy(x))
        raw_torch = (out[0] if isinstance(out, tuple | list) else out).numpy()
        raw_onnx = session.run(None, {session.get_inputs()[0].name: x})[0]
        assert raw_onnx.shape == raw_torch.shape == (1, 4 + len(LABELS), raw_onnx.shape[2])
        np.testing.assert_allclose(raw_onnx[0, :4], raw_torch[0, :4], atol=2e-2)  # pixels
        np.testing.assert_allclose(raw_onnx[0, 4:], raw_torch[0, 4:], atol=1e-3)  # scores
        b_onnx, s_onnx, c_onnx = decode_detections(raw_onnx, lb, conf_threshold=0.01)
        b_torch, s_torch, c_torch = decode_detections(raw_torch, lb, conf_threshold=0.01)
        n = min(len(s_onnx), len(s_torch), 5)
        np.testing.assert_array_equal(c_onnx[:n], c_torch[:n])
        np.testing.assert_allclose(b_onnx[:n], b_torch[:n], atol=0.1)


def test_predictor_serves_the_evaluation_predictions(trained):
    spec, result, _ = trained
    predictor = load_predictor(result.bundle_dir)
    assert isinstance(predictor, DetectionPredictor)
    assert set(predictor.warmup()) == {"detection_classes", "detection_boxes", "detection_scores"}
    for s, expected in zip(spec.split("eval"), result.eval_predictions, strict=True):
        response = predictor.predict({"images": Path(s.path).read_bytes()})
        assert response == expected["predicted"]
        for box in response["detection_boxes"]:  # [y_min, x_min, y_max, x_max] inside the sent image
            assert 0 <= box[0] <= box[2] <= s.height and 0 <= box[1] <= box[3] <= s.width


def test_evaluation_equals_metrics_of_the_predictors_answers(trained):
    """The version's headline metrics are those of what the service answers at its threshold;
    at another threshold they are the threshold curve's point."""
    from training.engine.detection_metrics import response_detections

    spec, result, _ = trained
    predictor = load_predictor(result.bundle_dir)
    index = {name: i for i, name in enumerate(LABELS)}
    truths = [[(index[b.label], np.array([b.xmin, b.ymin, b.xmax, b.ymax], float)) for b in s.boxes] for s in spec.split("eval")]
    ev = result.evaluation
    for threshold in (None, 0.001, 0.05):
        answers = [
            response_detections(predictor.predict({"images": Path(s.path).read_bytes()}, conf_threshold=threshold), list(LABELS))
            for s in spec.split("eval")
        ]
        if threshold is not None:
            assert all((a[1] >= threshold).all() for a in answers)
        metrics, _ = detection_metrics(truths, answers, list(LABELS), served=answers)
        expected = ev if threshold is None else next(r for r in ev["threshold_curve"] if r["threshold"] == threshold)
        for key in ("precision", "recall", "f1", "map50"):
            assert metrics[key] == pytest.approx(expected[key], abs=1e-9), (threshold, key)


def test_predictor_rejects_text_and_truncated_images(trained, tmp_path):
    spec, result, _ = trained
    predictor = DetectionPredictor(result.bundle_dir)
    with pytest.raises(PredictionError):
        predictor.predict(b"name,value\n1,2\n")
    png = Path(spec.split("eval")[0].path).read_bytes()
    with pytest.raises(PredictionError):
        predictor.predict(png[: len(png) // 2])


def test_incremental_training_starts_from_previous_weights(trained, tmp_path):
    import torch

    from training.engine.trainers.detection import weights_checksum
    from training.engine.trainers.yolo_bootstrap import yolo_class

    spec, result, _ = trained
    previous = yolo_class()(str(result.bundle_dir / WEIGHTS_FILE), task="detect").model.float()
    samples = detection_samples(tmp_path / "data", labels=LABELS, n_train=6, n_eval=2, seed=5)
    spec2 = TrainSpec(
        task_type="object_detection",
        labels=LABELS,
        samples=tuple(samples),
        threads=2,
        base_bundle_dir=str(result.bundle_dir),
        params={"imgsz": IMGSZ},
    )
    result2 = _fit(spec2, tmp_path / "work", 12)
    params = json.loads((result2.bundle_dir / "bundle.json").read_text())["train_params"]
    assert params["incremental_from"] == str(result.bundle_dir)
    assert params["initial_weights_checksum"] == pytest.approx(weights_checksum(previous), rel=1e-6)
    fresh = yolo_class()("yolov8n.yaml", task="detect").model
    assert weights_checksum(fresh) != pytest.approx(weights_checksum(previous), rel=1e-3)
    assert torch.get_num_threads() >= 1


def test_network_block_refuses_and_records(monkeypatch):
    import socket

    block = NetworkBlock(monkeypatch)
    with pytest.raises(OSError):
        socket.create_connection(("198.51.100.7", 443), timeout=1)
    with pytest.raises(OSError):
        socket.getaddrinfo("github.com", 443)
    assert len(block.attempts) == 2


def test_predictors_import_neither_torch_nor_ultralytics():
    import subprocess
    import sys

    code = (
        "import sys; import training.engine.predictors.image, training.engine.predictors.detection; "
        "heavy = [m for m in ('torch', 'ultralytics', 'cv2', 'torchvision') if m in sys.modules]; "
        "print(heavy); sys.exit(1 if heavy else 0)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[2], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_image_size_follows_exif_orientation_like_decode(tmp_path):
    from PIL import Image

    from training.engine.preprocessing.image import image_size

    img = Image.new("RGB", (40, 20), (200, 10, 10))
    exif = img.getexif()
    exif[0x0112] = 6  # rotated 90°: displayed 20 wide, 40 high
    path = tmp_path / "rotated.jpg"
    img.save(path, exif=exif)
    decoded = decode_image(path)
    assert image_size(path) == (decoded.width, decoded.height) == (20, 40)


def test_stop_from_progress_propagates(tmp_path):
    from training.engine.spec import StopTraining

    samples = detection_samples(tmp_path / "data", labels=LABELS, n_train=4, n_eval=1, seed=2)
    spec = TrainSpec(
        task_type="object_detection", labels=LABELS, samples=tuple(samples), params={"imgsz": 64}
    )

    def progress(phase: str, fraction: float) -> None:
        if phase == "train":
            raise StopTraining()

    with pytest.raises(StopTraining):
        get_trainer("object_detection").fit(spec, tmp_path / "work", time.monotonic() + 60, progress)
    assert not (tmp_path / "work" / "bundle" / "model.onnx").exists()

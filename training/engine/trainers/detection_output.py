"""The detector's ONNX export (YOLO's raw head; NMS runs on the server) and its evaluation
through the DetectionPredictor a service runs: mAP over the whole ranking, precision and
recall of exactly what a service at the bundle's threshold answers."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np

from training.engine.detection_metrics import (
    CONF_THRESHOLD,
    EVAL_CONF,
    MAX_DETECTIONS,
    detection_metrics,
    response_detections,
)
from training.engine.preprocessing.image import detection_response
from training.engine.spec import TrainSample

from .detection_data import clip_box


def export_onnx(weights: Path, target: Path, *, imgsz: int, threads: int = 1) -> Path:
    """best.pt -> one ONNX file with the raw [1, 4+nc, N] head (NMS runs on the server)."""
    from . import yolo_bootstrap

    YOLO = yolo_bootstrap.yolo_class()
    import torch

    torch.set_num_threads(threads)
    model = YOLO(str(Path(weights).resolve()), task="detect")
    out = model.export(
        format="onnx",
        imgsz=imgsz,
        opset=17,
        simplify=True,
        nms=False,
        dynamic=False,
        device="cpu",
        verbose=False,
    )
    shutil.move(str(out), target)
    return target


def onnx_input_name(model_path: Path) -> str:
    import onnx

    return onnx.load(str(model_path), load_external_data=False).graph.input[0].name


def evaluate_detector(
    predictor: Any, samples: list[TrainSample], labels: list[str]
) -> tuple[dict[str, float], dict[str, Any], list[dict[str, Any]]]:
    index = {name: i for i, name in enumerate(labels)}
    truths: list[list[tuple[int, np.ndarray]]] = []
    preds: list[tuple[np.ndarray, ...]] = []
    predictions: list[dict[str, Any]] = []
    served: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    for s in samples:
        # The whole ranking (a low threshold, three times the served cap) for mAP.
        boxes, scores, classes, (width, height) = predictor.detect(
            {"images": Path(s.path).read_bytes()}, conf_threshold=EVAL_CONF, max_detections=MAX_DETECTIONS * 3
        )
        truth = []
        for b in s.boxes:
            clipped = clip_box(b, width, height)
            if clipped is not None:
                truth.append((index[b.label], np.asarray(clipped)))
        truths.append(truth)
        # Ranked and matched as the service reports them (rounded), cut on the raw scores.
        as_served = response_detections(detection_response(boxes, scores, classes, labels), labels)
        preds.append((*as_served, scores))
        # Exactly what a service at the bundle's threshold answers (the predictor's test holds it).
        kept = scores >= CONF_THRESHOLD
        response = detection_response(
            boxes[kept][:MAX_DETECTIONS],
            scores[kept][:MAX_DETECTIONS],
            classes[kept][:MAX_DETECTIONS],
            labels,
        )
        served.append(response_detections(response, labels))
        predictions.append(
            {
                "sample_id": s.id,
                "true": [{"label": b.label, "box": [b.ymin, b.xmin, b.ymax, b.xmax]} for b in s.boxes],
                "predicted": response,
            }
        )
    metrics, evaluation = detection_metrics(truths, preds, labels, served=served)
    return metrics, evaluation, predictions

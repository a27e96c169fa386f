"""Object detection: image bytes in, ModelArts' ``detection_classes/boxes/scores`` out.

The ONNX model is YOLO's raw head [1, 4+nc, N]; letterbox, threshold, class-aware NMS and
un-letterboxing are training.engine.preprocessing.image's numpy functions, the same ones the
trainer evaluated with. Boxes are [y_min, x_min, y_max, x_max] in the sent image's pixels.
"""

from __future__ import annotations

from typing import Any

from training.engine.preprocessing.image import decode_detections, detection_response, letterbox

from .base import Predictor
from .image import load_image_for


class DetectionPredictor(Predictor):
    task_type = "object_detection"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        pre = self.bundle["preprocessing"]
        post = self.bundle["postprocessing"]
        self.size = int(pre["size"])
        self.conf_threshold = float(post.get("conf_threshold", 0.25))
        self.iou_threshold = float(post.get("iou_threshold", 0.45))
        self.max_detections = int(post.get("max_detections", 100))

    def detect(
        self, payload: Any, *, conf_threshold: float | None = None, max_detections: int | None = None
    ) -> tuple[Any, Any, Any, tuple[int, int]]:
        """(boxes, scores, class ids, the image's full (width, height)) as the service computes
        them; the trainer's evaluation ranks a longer list at a low threshold through this too."""
        img, full_size = load_image_for(payload, target=self.size)
        x, lb = letterbox(img, self.size, source_size=full_size)
        output = self.run_session(None, {self.input_names[0]: x})[0]
        boxes, scores, classes = decode_detections(
            output,
            lb,
            conf_threshold=self.conf_threshold if conf_threshold is None else float(conf_threshold),
            iou_threshold=self.iou_threshold,
            max_detections=self.max_detections if max_detections is None else int(max_detections),
        )
        return boxes, scores, classes, full_size

    def predict(self, payload: Any, *, conf_threshold: float | None = None) -> dict[str, Any]:
        """``conf_threshold``: the service's own cut (one predictor serves every service of a
        version, so it comes per call); None = the bundle's, which the evaluation used."""
        boxes, scores, classes, _ = self.detect(payload, conf_threshold=conf_threshold)
        return detection_response(boxes, scores, classes, self.labels)

"""Image classification: image bytes in, ``{"predicted_label", "scores": [[label, "0.998"], ...]}`` out.

Decode and preprocessing are training.engine.preprocessing.image's, the functions the trainer
evaluated the ONNX model with; numpy + PIL + onnxruntime only.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from training.engine.preprocessing.image import (
    ImageDecodeError,
    classification_input,
    classification_response,
    classification_scores,
    decode_image_for,
    multilabel_predicted,
)

from .base import PredictionError, Predictor


def image_bytes(payload: Any) -> bytes:
    """The image of a request: raw bytes, a file-like object, or {"images": bytes | file}."""
    if isinstance(payload, dict):
        if "images" not in payload:
            raise PredictionError("images: expected one image file")
        payload = payload["images"]
    if hasattr(payload, "read"):
        payload = payload.read()
    if isinstance(payload, memoryview):
        payload = payload.tobytes()
    if not isinstance(payload, bytes | bytearray) or not payload:
        raise PredictionError("images: expected the bytes of a JPG, PNG or BMP image")
    return bytes(payload)


# PIL names the in-memory buffer it could not read ("<_io.BytesIO object at 0x…>"): an
# internal a client can neither use nor should see.
_OBJECT_REPR = re.compile(r"\s*<[\w.]+ object at 0x[0-9a-fA-F]+>")


def load_image(payload: Any, *, target: int | None = None) -> Any:
    return load_image_for(payload, target=target)[0]


def load_image_for(payload: Any, *, target: int | None = None) -> tuple[Any, tuple[int, int]]:
    """The request's image (draft-decoded when much larger than ``target``) and its full size."""
    try:
        return decode_image_for(image_bytes(payload), target=target)
    except ImageDecodeError as exc:
        if "cannot identify image file" in str(exc):
            raise PredictionError("images: the file is not a JPG, PNG or BMP image") from None
        raise PredictionError(f"images: {_OBJECT_REPR.sub('', str(exc))}") from None


class ImagePredictor(Predictor):
    task_type = "image_classification"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        pre = self.bundle["preprocessing"]
        post = self.bundle["postprocessing"]
        self.size = int(pre["size"])
        self.mean = pre["mean"]
        self.std = pre["std"]
        self.resize = pre.get("resize", "squash")
        self.multilabel = bool(post.get("multilabel", False))
        self.threshold = float(post.get("threshold", 0.5))
        self.top_k = int(post.get("top_k", 5))
        # "probabilities": the graph ends in its own softmax (the AutoML search's models and
        # their ensembles); "logits": the activation runs here.
        self.output = post.get("output", "logits")

    def probabilities(self, img: Any) -> np.ndarray:
        x = classification_input(img, size=self.size, mean=self.mean, std=self.std, resize=self.resize)
        out = self.run_session(None, {self.input_names[0]: x})[0]
        if self.output == "probabilities":
            return np.asarray(out, dtype=np.float64)[0]
        return classification_scores(out, multilabel=self.multilabel)[0]

    def predict(self, payload: Any) -> dict[str, Any]:
        probs = self.probabilities(load_image(payload, target=self.size))
        response = classification_response(probs, self.labels, top_k=self.top_k)
        if self.multilabel:
            # Top-1 stays the predicted_label (ModelArts' shape); all labels over the threshold too.
            response["predicted_labels"] = multilabel_predicted(probs, self.labels, self.threshold)
        return response

"""Image decode, preprocessing and output decoding shared by the trainers' ONNX evaluation
and the serving predictors, so a served prediction equals the evaluation prediction.

numpy + PIL only: serving imports this without torch or ultralytics.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from training.engine.preprocessing import InputError

# ImageNet statistics: torchvision-style normalisation the classifier is fine-tuned with.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
LETTERBOX_FILL = 114  # ultralytics' gray padding
MAX_PIXELS = 64_000_000
# Draft-decode (JPEG DCT scaling) only a source at least this many times the model input.
DRAFT_MIN_RATIO = 2


class ImageDecodeError(InputError):
    """The bytes are not a complete, supported image."""


def decode_image(source: bytes | bytearray | str | Path) -> Image.Image:
    """Decode fully (so a truncated file fails here, not later) into an RGB image with EXIF
    orientation applied, as browsers display it while labelling."""
    return decode_image_for(source)[0]


def decode_image_for(
    source: bytes | bytearray | str | Path, *, target: int | None = None
) -> tuple[Image.Image, tuple[int, int]]:
    """decode_image, cheaper for a model whose input is ``target`` pixels square: a JPEG at
    least twice that size in both dimensions is decoded by libjpeg at 1/2, 1/4 or 1/8 scale
    (draft mode: the DCT does the downscaling), never below ``target`` on either side, so the
    bilinear resize that follows still downsamples. A 2000x1500 photo to 224 decodes about
    twice as fast, and the model input differs from the full decode's by ~0.3/255 on average.
    Returns the image and the full image's oriented (width, height): detection boxes are
    given in the sent image's pixels."""
    try:
        if isinstance(source, bytes | bytearray):
            img = Image.open(io.BytesIO(bytes(source)))
        else:
            img = Image.open(source)
        with img:
            if img.width * img.height > MAX_PIXELS:
                raise ImageDecodeError(f"image too large: {img.width}x{img.height}")
            width, height = img.size
            if (
                target is not None
                and img.format == "JPEG"
                and width >= DRAFT_MIN_RATIO * target
                and height >= DRAFT_MIN_RATIO * target
            ):
                img.draft("RGB", (target, target))
            orientation = img.getexif().get(0x0112, 1)
            img.load()
            img = ImageOps.exif_transpose(img)
            full = (height, width) if orientation in (5, 6, 7, 8) else (width, height)
            return img.convert("RGB"), full
    except ImageDecodeError:
        raise
    # ImportError: a process-wide Image.open patch (ultralytics) may try a missing plugin.
    except (
        UnidentifiedImageError,
        OSError,
        SyntaxError,
        ValueError,
        ImportError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,  # an exception where warnings are errors
    ) as exc:
        raise ImageDecodeError(f"not a valid image: {exc}") from exc


def warmup_example(width: int, height: int) -> dict[str, str]:
    """A gray PNG stored base64 in bundle.json (the predictors' warmup request)."""
    import base64

    buf = io.BytesIO()
    Image.new("RGB", (width, height), (128, 128, 128)).save(buf, format="PNG")
    return {"base64": base64.b64encode(buf.getvalue()).decode("ascii")}


def image_size(path: str | Path) -> tuple[int, int]:
    """(width, height) as decode_image would return them, from the header only (EXIF
    orientations 5-8 swap the axes)."""
    try:
        with Image.open(path) as img:
            width, height = img.size
            orientation = img.getexif().get(0x0112, 1)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, ImportError, Image.DecompressionBombError,
            Image.DecompressionBombWarning) as exc:
        raise ImageDecodeError(f"not a valid image: {exc}") from exc
    return (height, width) if orientation in (5, 6, 7, 8) else (width, height)


# ----------------------------------------------------------------------------- classification


def classification_input(
    img: Image.Image,
    *,
    size: int,
    mean: Sequence[float] = IMAGENET_MEAN,
    std: Sequence[float] = IMAGENET_STD,
    resize: str = "squash",
) -> np.ndarray:
    """RGB image -> float32 [1, 3, size, size], normalised. ``squash`` resizes the whole image
    to a square (nothing cropped: a small object near the border still counts)."""
    return to_input(resize_square(img, size=size, resize=resize)[None], mean=mean, std=std)


def resize_square(img: Image.Image, *, size: int, resize: str = "squash") -> np.ndarray:
    """Step 1: RGB image -> uint8 [size, size, 3] (trainers cache this per image)."""
    if resize != "squash":
        raise ValueError(f"unknown resize mode {resize!r}")
    return np.asarray(img.convert("RGB").resize((size, size), Image.BILINEAR), dtype=np.uint8)


def to_input(
    pixels: np.ndarray, *, mean: Sequence[float] = IMAGENET_MEAN, std: Sequence[float] = IMAGENET_STD
) -> np.ndarray:
    """Step 2: uint8 [n, H, W, 3] -> float32 [n, 3, H, W], scaled to 0..1 and normalised."""
    arr = np.asarray(pixels, dtype=np.float32) / 255.0
    arr = (arr - np.asarray(mean, dtype=np.float32)) / np.asarray(std, dtype=np.float32)
    return np.ascontiguousarray(arr.transpose(0, 3, 1, 2), dtype=np.float32)


def pixel_features(x: np.ndarray, *, grid: int, gray: bool) -> np.ndarray:
    """The pixel model's features from ``to_input`` output [n, 3, S, S] (0..1): block means on
    a grid x grid raster (then the channel mean when ``gray``), flattened. Its ONNX graph
    does the same with AveragePool and ReduceMean, so the exported model answers alike."""
    n, c, h, w = x.shape
    k = h // grid
    blocks = np.asarray(x, dtype=np.float64)[:, :, : grid * k, : grid * k].reshape(n, c, grid, k, grid, k)
    pooled = blocks.mean(axis=(3, 5))
    if gray:
        pooled = pooled.mean(axis=1, keepdims=True)
    return pooled.reshape(n, -1)


def pixel_features_u8(pixels: np.ndarray, *, grid: int, gray: bool) -> np.ndarray:
    """``pixel_features`` of ``to_input(pixels)`` computed from the uint8 rows [n, S, S, 3]
    themselves: integer block sums, no float copy of the images (at 224 px a float64 copy of
    a batch is 40x the pixels)."""
    n, h, _, c = pixels.shape
    k = h // grid
    blocks = np.asarray(pixels)[:, : grid * k, : grid * k, :].reshape(n, grid, k, grid, k, c)
    pooled = blocks.sum(axis=(2, 4), dtype=np.int64).transpose(0, 3, 1, 2) / (255.0 * k * k)
    if gray:
        pooled = pooled.mean(axis=1, keepdims=True)
    return pooled.reshape(n, -1)


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def sigmoid(logits: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-logits))


def classification_scores(logits: np.ndarray, *, multilabel: bool) -> np.ndarray:
    """Logits [n, classes] -> probabilities: sigmoid per label when multi-label, else softmax."""
    logits = np.asarray(logits, dtype=np.float64)
    return sigmoid(logits) if multilabel else softmax(logits)


def classification_response(probs: np.ndarray, labels: Sequence[str], *, top_k: int = 5) -> dict[str, Any]:
    """One image's probabilities -> ModelArts' ``{"predicted_label", "scores": [[label, "0.998"], ...]}``."""
    probs = np.asarray(probs, dtype=np.float64).reshape(-1)
    order = np.argsort(-probs, kind="stable")[:top_k]
    return {
        "predicted_label": labels[int(order[0])],
        "scores": [[labels[int(i)], f"{probs[int(i)]:.3f}"] for i in order],
    }


def multilabel_predicted(probs: np.ndarray, labels: Sequence[str], threshold: float) -> list[str]:
    probs = np.asarray(probs).reshape(-1)
    return [labels[i] for i in range(len(labels)) if probs[i] >= threshold]


# ----------------------------------------------------------------------------- detection


@dataclass(frozen=True)
class Letterbox:
    ratio: float  # resized / original
    pad_x: int  # left padding in input pixels
    pad_y: int  # top padding
    width: int  # original image size
    height: int


def letterbox_params(width: int, height: int, size: int) -> Letterbox:
    """ultralytics' LetterBox(center=True, auto=False, scaleup=True) arithmetic exactly."""
    r = min(size / height, size / width)
    new_w, new_h = max(round(width * r), 1), max(round(height * r), 1)
    dw, dh = (size - new_w) / 2, (size - new_h) / 2
    return Letterbox(ratio=r, pad_x=round(dw - 0.1), pad_y=round(dh - 0.1), width=width, height=height)


def letterbox(
    img: Image.Image, size: int, *, source_size: tuple[int, int] | None = None
) -> tuple[np.ndarray, Letterbox]:
    """RGB image -> float32 [1, 3, size, size] in 0..1, aspect kept, padded with gray 114.
    ``source_size``: the full image's (width, height) when ``img`` was draft-decoded smaller;
    the letterbox (and so the boxes) is that of the full image."""
    img = img.convert("RGB")
    width, height = source_size or img.size
    lb = letterbox_params(width, height, size)
    new_w, new_h = max(round(width * lb.ratio), 1), max(round(height * lb.ratio), 1)
    if (new_w, new_h) != img.size:
        img = img.resize((new_w, new_h), Image.BILINEAR)
    canvas = np.full((size, size, 3), LETTERBOX_FILL, dtype=np.uint8)
    canvas[lb.pad_y : lb.pad_y + new_h, lb.pad_x : lb.pad_x + new_w] = np.asarray(img, dtype=np.uint8)
    arr = canvas.astype(np.float32) / 255.0
    return np.ascontiguousarray(arr.transpose(2, 0, 1)[None]), lb


def nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float) -> np.ndarray:
    """Greedy NMS over xyxy boxes; returns kept indices by descending score."""
    order = np.argsort(-scores, kind="stable")
    keep: list[int] = []
    x1, y1, x2, y2 = boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]
    areas = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    while order.size:
        i = int(order[0])
        keep.append(i)
        rest = order[1:]
        w = np.clip(np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]), 0, None)
        h = np.clip(np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]), 0, None)
        inter = w * h
        iou = inter / np.maximum(areas[i] + areas[rest] - inter, 1e-9)
        order = rest[iou <= iou_threshold]
    return np.asarray(keep, dtype=np.int64)


def decode_detections(
    output: np.ndarray,
    lb: Letterbox,
    *,
    conf_threshold: float = 0.25,
    iou_threshold: float = 0.45,
    max_detections: int = 100,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """YOLO ONNX output [1, 4+nc, N] (cx, cy, w, h in input px; sigmoid class scores) ->
    (xyxy boxes in the original image's pixels, scores, class ids), class-aware NMS applied."""
    pred = np.asarray(output, dtype=np.float32)[0].T  # [N, 4+nc]
    cls_scores = pred[:, 4:]
    cls_ids = cls_scores.argmax(axis=1)
    scores = cls_scores[np.arange(len(pred)), cls_ids]
    mask = scores >= conf_threshold
    if not mask.any():
        return np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int64)
    xywh, scores, cls_ids = pred[mask, :4], scores[mask], cls_ids[mask]
    boxes = np.empty_like(xywh)
    boxes[:, 0] = xywh[:, 0] - xywh[:, 2] / 2
    boxes[:, 1] = xywh[:, 1] - xywh[:, 3] / 2
    boxes[:, 2] = xywh[:, 0] + xywh[:, 2] / 2
    boxes[:, 3] = xywh[:, 1] + xywh[:, 3] / 2
    # Class-aware NMS by offsetting each class into its own region (as ultralytics does).
    offset = cls_ids[:, None].astype(np.float32) * 7680.0
    keep = nms(boxes + offset, scores, iou_threshold)[:max_detections]
    boxes, scores, cls_ids = boxes[keep], scores[keep], cls_ids[keep]
    return unletterbox_boxes(boxes, lb), scores, cls_ids


def unletterbox_boxes(boxes: np.ndarray, lb: Letterbox) -> np.ndarray:
    """xyxy in letterboxed input px -> xyxy in the original image's pixels, clipped."""
    out = np.asarray(boxes, dtype=np.float32).copy()
    out[:, [0, 2]] = (out[:, [0, 2]] - lb.pad_x) / lb.ratio
    out[:, [1, 3]] = (out[:, [1, 3]] - lb.pad_y) / lb.ratio
    out[:, [0, 2]] = out[:, [0, 2]].clip(0, lb.width)
    out[:, [1, 3]] = out[:, [1, 3]].clip(0, lb.height)
    return out


def detection_response(
    boxes: np.ndarray, scores: np.ndarray, cls_ids: np.ndarray, labels: Sequence[str]
) -> dict[str, Any]:
    """ModelArts' detection shape; boxes as [y_min, x_min, y_max, x_max] in image pixels."""
    return {
        "detection_classes": [labels[int(c)] for c in cls_ids],
        "detection_boxes": [
            [round(float(b[1]), 2), round(float(b[0]), 2), round(float(b[3]), 2), round(float(b[2]), 2)]
            for b in boxes
        ],
        "detection_scores": [round(float(s), 4) for s in scores],
    }


# ----------------------------------------------------------------------------- YOLO labels


def box_to_yolo(
    label_index: int, xmin: float, ymin: float, xmax: float, ymax: float, *, width: int, height: int
) -> str:
    """One pixel box -> a YOLO label line ``cls cx cy w h`` (normalised)."""
    cx = (xmin + xmax) / 2 / width
    cy = (ymin + ymax) / 2 / height
    w = (xmax - xmin) / width
    h = (ymax - ymin) / height
    return f"{label_index} {cx:.10f} {cy:.10f} {w:.10f} {h:.10f}"


def yolo_to_box(line: str, *, width: int, height: int) -> tuple[int, float, float, float, float]:
    """Inverse of :func:`box_to_yolo`: (label_index, xmin, ymin, xmax, ymax) in pixels, rounded to
    1e-4 px so a box survives the round trip exactly (10 decimals in the text, float error below)."""
    parts = line.split()
    cls, cx, cy, w, h = int(parts[0]), *(float(p) for p in parts[1:5])
    coords = ((cx - w / 2) * width, (cy - h / 2) * height, (cx + w / 2) * width, (cy + h / 2) * height)
    x0, y0, x1, y1 = (round(v, 4) + 0.0 for v in coords)  # + 0.0 turns -0.0 into 0.0
    return cls, x0, y0, x1, y1

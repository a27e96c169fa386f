"""Serving decodes a JPEG much larger than the model input in libjpeg's draft mode (DCT
scaling): the model input and the probabilities stay those of the full decode (the training
and evaluation path) within a small tolerance, and detection boxes stay in the sent image's
pixels."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from training.engine.predictors import load_predictor
from training.engine.predictors.image import load_image_for
from training.engine.preprocessing.image import (
    classification_input,
    decode_image,
    decode_image_for,
    letterbox,
    resize_square,
)

SIZE = 224


def _photo_jpeg(width: int = 2000, height: int = 1500, *, orientation: int | None = None) -> bytes:
    """Smooth gradients and waves plus sensor-like noise: what a camera photo looks like to a codec."""
    rng = np.random.default_rng(7)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    red = 128 + 100 * np.sin(xx / 180) * np.cos(yy / 240)
    green = 255 * xx / width
    blue = 255 * yy / height
    pixels = np.stack([red, green, blue], axis=-1) + rng.normal(0, 12, (height, width, 3))
    img = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    buf = io.BytesIO()
    exif = Image.Exif()
    if orientation is not None:
        exif[0x0112] = orientation
    img.save(buf, format="JPEG", quality=90, exif=exif.tobytes())
    return buf.getvalue()


@pytest.fixture(scope="module")
def photo() -> bytes:
    return _photo_jpeg()


def _pooled_linear_bundle(root: Path) -> Path:
    """[1,3,224,224] -> 16x16 average pool -> linear -> 3 logits: a fixed, small model whose
    answer depends on where the colours are, as a CNN's does."""
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(3)
    cells = 3 * (SIZE // 16) ** 2
    weights = (rng.normal(0, 0.05, (cells, 3))).astype(np.float32)
    nodes = [
        helper.make_node("AveragePool", ["input"], ["pooled"], kernel_shape=[16, 16], strides=[16, 16]),
        helper.make_node("Flatten", ["pooled"], ["flat"], axis=1),
        helper.make_node("MatMul", ["flat", "w"], ["logits"]),
    ]
    graph = helper.make_graph(
        nodes,
        "pooled-linear",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 3, SIZE, SIZE])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 3])],
        initializer=[numpy_helper.from_array(weights, "w")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, str(root / "model.onnx"))
    bundle = {
        "schema_version": 1,
        "task_type": "image_classification",
        "labels": ["a", "b", "c"],
        "preprocessing": {
            "size": SIZE,
            "mean": [0.485, 0.456, 0.406],
            "std": [0.229, 0.224, 0.225],
            "resize": "squash",
        },
        "postprocessing": {"multilabel": False, "top_k": 3},
    }
    (root / "bundle.json").write_text(json.dumps(bundle))
    return root


def test_a_large_jpeg_is_draft_decoded_and_the_model_input_barely_moves(photo):
    full = decode_image(photo)
    drafted, full_size = decode_image_for(photo, target=SIZE)
    assert full.size == full_size == (2000, 1500)
    assert drafted.width < full.width and min(drafted.size) >= SIZE  # decoded smaller, never below the input
    diff = np.abs(
        resize_square(full, size=SIZE).astype(np.float32)
        - resize_square(drafted, size=SIZE).astype(np.float32)
    )
    assert diff.mean() < 2.0 and diff.max() <= 16, (diff.mean(), diff.max())  # in 0..255 units


def test_served_probabilities_equal_the_full_decode_within_tolerance(photo, tmp_path):
    predictor = load_predictor(_pooled_linear_bundle(tmp_path))
    image, _ = load_image_for(photo, target=predictor.size)  # what predict() decodes
    assert image.width < 2000
    served = predictor.probabilities(image)
    evaluated = predictor.probabilities(decode_image(photo))  # the trainer's evaluation path
    assert served.shape == evaluated.shape == (3,)
    np.testing.assert_allclose(served, evaluated, atol=1e-2)
    assert int(np.argmax(served)) == int(np.argmax(evaluated))
    response = predictor.predict(photo)
    assert response["predicted_label"] == predictor.labels[int(np.argmax(evaluated))]
    full_input = classification_input(decode_image(photo), size=SIZE, mean=predictor.mean, std=predictor.std)
    served_input = classification_input(image, size=SIZE, mean=predictor.mean, std=predictor.std)
    assert np.abs(full_input - served_input).mean() < 0.05  # normalised units (1/255/0.225 = 0.017)


def test_an_image_under_twice_the_input_is_decoded_in_full():
    small = _photo_jpeg(2 * SIZE - 1, 3 * SIZE)
    image, full_size = decode_image_for(small, target=SIZE)
    assert image.size == full_size == (2 * SIZE - 1, 3 * SIZE)
    png = io.BytesIO()
    Image.open(io.BytesIO(_photo_jpeg(1000, 800))).save(png, format="PNG")
    image, full_size = decode_image_for(png.getvalue(), target=SIZE)  # draft is JPEG's only
    assert image.size == full_size == (1000, 800)


def test_detection_letterbox_and_boxes_keep_the_full_image_geometry():
    rotated = _photo_jpeg(orientation=6)  # shown rotated: 1500 wide, 2000 high
    full = decode_image(rotated)
    drafted, full_size = decode_image_for(rotated, target=640)
    assert full.size == full_size == (1500, 2000)
    assert drafted.size[0] < drafted.size[1] and drafted.width < full.width
    x_full, lb_full = letterbox(full, 640)
    x_draft, lb_draft = letterbox(drafted, 640, source_size=full_size)
    assert lb_draft == lb_full  # same ratio, padding and size: boxes map back to the same pixels
    assert np.abs(x_full - x_draft).mean() < 2.0 / 255

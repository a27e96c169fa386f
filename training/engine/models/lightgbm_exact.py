"""LightGBM models whose ONNX export answers exactly what the booster answers, and the
converter that lets skl2onnx export them inside a pipeline.

LightGBM keeps split thresholds in float64; ONNX's TreeEnsemble stores them in float32,
rounded to NEAREST, so an input equal to the float32 rounding of a threshold lying just below
it goes left in the graph and right in Python. Inputs are float32 on both sides, so rounding
every threshold DOWN to float32 changes no Python prediction (x <= t iff x <= the largest
float32 <= t) and makes the graph exact. "Missing type None" splits read NaN as 0.0 while
the converter follows default_left, which LightGBM ignores there: the flag is set to the
side 0.0 takes.
"""

from __future__ import annotations

import re

import numpy as np

_THRESHOLD = re.compile(r"^threshold=(.*)$", re.M)
_DECISION = re.compile(r"^decision_type=(.*)$", re.M)


def f32_floor(value: float) -> float:
    """The largest float32 not above ``value`` (as a Python float)."""
    f = np.float32(value)
    if float(f) > value:
        f = np.nextafter(f, np.float32(-np.inf))
    return float(f)


def exact_model_text(text: str) -> str:
    """A LightGBM model text whose float32 ONNX graph answers exactly what the booster does."""
    trees = text.split("\nTree=")
    # The header's tree_sizes (byte offsets for parallel loading) no longer hold once the
    # numbers are rewritten; without it LightGBM reads the trees one after another.
    out = [re.sub(r"^tree_sizes=.*\n", "", trees[0], flags=re.M)]
    for tree in trees[1:]:
        th = _THRESHOLD.search(tree)
        dt = _DECISION.search(tree)
        if th is None or dt is None:  # a single-leaf tree has no splits
            out.append(tree)
            continue
        thresholds = [float(v) for v in th.group(1).split()]
        decisions = [int(v) for v in dt.group(1).split()]
        new_th, new_dt = [], []
        for t, d in zip(thresholds, decisions, strict=True):
            if d & 1:
                raise ValueError("categorical LightGBM splits are not exported")
            missing = (d >> 2) & 3
            if missing == 1:
                raise ValueError("LightGBM zero-as-missing splits are not exported exactly")
            new_th.append(f32_floor(t))
            if missing == 0:
                # NaN is read as 0.0 there: make default_left say where 0.0 goes.
                d = (d | 2) if 0.0 <= new_th[-1] else (d & ~2)
            new_dt.append(d)
        tree = tree[: th.start(1)] + " ".join(repr(v) for v in new_th) + tree[th.end(1):]
        dt = _DECISION.search(tree)
        assert dt is not None
        tree = tree[: dt.start(1)] + " ".join(str(v) for v in new_dt) + tree[dt.end(1):]
        out.append(tree)
    return "\nTree=".join(out)


def register_lightgbm_converters() -> None:
    """Teach skl2onnx LightGBM (onnxmltools' converter); idempotent."""
    from lightgbm import LGBMClassifier, LGBMRegressor
    from onnxmltools.convert.lightgbm.operator_converters.LightGbm import convert_lightgbm
    from skl2onnx import update_registered_converter
    from skl2onnx.common.shape_calculator import (
        calculate_linear_classifier_output_shapes,
        calculate_linear_regressor_output_shapes,
    )

    update_registered_converter(
        LGBMClassifier,
        "LightGbmLGBMClassifier",
        calculate_linear_classifier_output_shapes,
        convert_lightgbm,
        options={"nocl": [True, False], "zipmap": [True, False, "columns"]},
    )
    update_registered_converter(
        LGBMRegressor, "LightGbmLGBMRegressor", calculate_linear_regressor_output_shapes, convert_lightgbm
    )

"""The interface every blendable candidate family implements, and the ONNX building blocks
they share.

A member's ``onnx(inputs)`` returns a graph whose inputs are exactly ``inputs`` (inputs it
does not use are declared anyway), so every member of a selection takes the same inputs
and onnx_blend.blend_models can sum them; the predictor computes each declared input from
the request by its name.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

OPSET = 17


class Exportable(Protocol):
    inputs: tuple[str, ...]  # the graph inputs it reads (a subset of the model's inputs)

    def predict(self, rows: np.ndarray) -> np.ndarray: ...

    def onnx(self, inputs: Sequence[Any]) -> Any:
        """A ModelProto with graph inputs ``inputs`` (ValueInfoProtos) and output "probabilities"."""


def warm_imports(*modules: str) -> None:
    """Import the training libraries before the search, so the first candidate's measured
    cost (which decides what the budget can still afford) is its fit, not an import."""
    import importlib

    for name in modules:
        importlib.import_module(name)


def full_proba(model: Any, x: Any, n_classes: int) -> np.ndarray:
    """predict_proba over all ``n_classes`` columns (a class absent from a fit gets 0)."""
    proba = model.predict_proba(x)
    full = np.zeros((proba.shape[0], n_classes))
    full[:, np.asarray(model.classes_, dtype=np.int64)] = proba
    return full


def linear_weights(model: Any, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """(W [F, n_classes], b [n_classes]) float64 so softmax(xW + b) is sklearn's
    predict_proba (binary: sigmoid(z) = softmax([0, z])). A class the fit never saw gets a
    logit of -1e4, probability 0 like full_proba's column."""
    coef = np.asarray(model.coef_, dtype=np.float64)
    intercept = np.asarray(model.intercept_, dtype=np.float64)
    classes = np.asarray(model.classes_, dtype=np.int64)
    if len(classes) == 2 and coef.shape[0] == 1:
        coef = np.vstack([np.zeros_like(coef), coef])
        intercept = np.concatenate([[0.0], intercept])
    w = np.zeros((coef.shape[1], n_classes))
    b = np.full(n_classes, -1e4)
    w[:, classes] = coef.T
    b[classes] = intercept
    return w, b


def make_model(nodes: list, inputs: Sequence[Any], initializers: list, *, name: str, n_classes: int,
               ml_opset: bool = False):
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        nodes, name, list(inputs),
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [None, n_classes])],
        initializer=initializers,
    )
    opsets = [helper.make_opsetid("", OPSET)] + ([helper.make_opsetid("ai.onnx.ml", 3)] if ml_opset else [])
    model = helper.make_model(graph, opset_imports=opsets, producer_name="exeml")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def with_inputs(model: Any, inputs: Sequence[Any]) -> Any:
    """``model`` with graph inputs exactly ``inputs``: the ones it reads keep their
    declaration, the others are added unused (so ensemble members share inputs)."""
    import onnx

    out = onnx.ModelProto()
    out.CopyFrom(model)
    have = {i.name: i for i in model.graph.input}
    del out.graph.input[:]
    for info in inputs:
        out.graph.input.append(have.get(info.name, info))
    missing = set(have) - {i.name for i in inputs}
    if missing:
        raise ValueError(f"model reads inputs not declared: {sorted(missing)}")
    return out

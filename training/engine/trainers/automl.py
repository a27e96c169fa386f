"""What the text and sound trainers share after their searches: ONNX building blocks for
members that must blend (linear softmax heads, shared inputs) and the last steps of a fit
(honest evaluation of the exported model on EVAL, refit on all labelled rows, the export
check, evaluation["search"]).

A member's ``onnx(inputs)`` returns a graph whose inputs are exactly ``inputs`` (inputs it
does not use are declared anyway), so every member of a selection takes the same inputs
and onnx_blend.blend_models can sum them; the predictor computes each declared input from
the request by its name.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from training.engine.budget import Budget
from training.engine.calibration import calibrate_onnx
from training.engine.onnx_blend import blend_models, max_abs_diff
from training.engine.search import Ensemble, Search, Selection, fit_selection

OPSET = 17
PARITY_TOLERANCE = 1e-5


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


def export_ensemble(ensemble: Ensemble, input_info: Callable[[str], Any], order: Sequence[str]):
    """One ModelProto for ``ensemble``: its single member, or the members blended;
    then its calibration (what ``ensemble.predict`` applies)."""
    used = {name for m in ensemble.models.values() for name in m.inputs}
    inputs = [input_info(name) for name in order if name in used]
    members = [(m.onnx(inputs), "probabilities") for m in ensemble.models.values()]
    if len(members) == 1:
        model = members[0][0]
    else:
        model = blend_models(members, [ensemble.weights[n] for n in ensemble.models])
    return calibrate_onnx(model, ensemble.calibration)


@dataclass
class Finished:
    metrics: dict[str, float]
    evaluation: dict[str, Any]
    predictions: list[dict[str, Any]]
    served: Ensemble
    train_params: dict[str, Any]


def evaluate_and_serve(
    *,
    search: Search,
    selection: Selection,
    train_rows: np.ndarray,
    all_rows: np.ndarray,
    budget: Budget,
    refit: bool,
    bundle_dir: Path,
    work_dir: Path,
    write: Callable[[Ensemble, Path], None],
    evaluate: Callable[[Path, Ensemble], tuple[dict[str, float], dict[str, Any], list[dict[str, Any]]]],
    served_proba: Callable[[Path], np.ndarray],
    eval_rows: np.ndarray,
    beat: Callable[[str, float], None],
) -> Finished:
    """Steps 3-4 of the engine guide: fit the selection on TRAIN, export it, evaluate THE
    EXPORTED model on EVAL; then (``refit``) fit it on all labelled rows, export that as
    the served bundle and check it against Python on the EVAL rows.

    ``write(ensemble, folder)`` writes model.onnx and a bundle.json the predictor can load;
    ``evaluate(folder, ensemble)`` -> metrics, evaluation (with onnx_check), predictions;
    ``served_proba(folder)`` -> the ONNX predictor's probabilities on ``eval_rows``."""
    beat("refitting on TRAIN", 0.86)
    evaluated = fit_selection(search, selection, train_rows, budget)
    refit = refit and len(all_rows) > len(train_rows)
    target = Path(work_dir) / "evaluated" if refit else Path(bundle_dir)
    target.mkdir(parents=True, exist_ok=True)
    write(evaluated, target)
    beat("evaluating", 0.9)
    metrics, evaluation, predictions = evaluate(target, evaluated)
    served = evaluated
    n_train, n_all = len(train_rows), len(all_rows)
    if refit:
        beat("refitting on all rows", 0.94)
        served = fit_selection(search, selection, all_rows, budget)
        write(served, Path(bundle_dir))
        diff = max_abs_diff(served_proba(Path(bundle_dir)), served.predict(eval_rows)) if len(eval_rows) else 0.0
        evaluation["served_check"] = {"max_abs_diff": diff}
    served_text = f"refit on all {n_all} labelled rows" if refit else "the evaluated model"
    evaluation["search"] = {
        "validation": search.folds.describe(),
        "leaderboard": search.leaderboard(),
        "selection": selection.describe(),
        "evaluated_model": f"fit on the {n_train} TRAIN rows",
        "served_model": served_text,
    }
    params = {"selection": selection.describe(), "served_model": served_text}
    return Finished(metrics, evaluation, predictions, served, params)

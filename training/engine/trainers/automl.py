"""The last steps of a fit that the text and sound trainers share after their searches:
the selection exported as one graph, the honest evaluation of the exported model on EVAL,
the refit on all labelled rows, the export check, evaluation["search"]. The members'
interface and the graph building blocks are in training.engine.models.base."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from training.engine.budget import Budget
from training.engine.calibration import calibrate_onnx
from training.engine.ensemble import Ensemble, fit_selection
from training.engine.onnx_blend import blend_models, max_abs_diff
from training.engine.search import Search, Selection
from training.engine.warm_start import best_configs

PARITY_TOLERANCE = 1e-5


def export_ensemble(ensemble: Ensemble, input_info: Callable[[str], Any], order: Sequence[str]):
    """One ModelProto for ``ensemble``: its single member, the members blended, or a level-2
    stack of them; then its calibration (what ``ensemble.predict`` applies)."""
    used = {name for m in ensemble.models.values() for name in m.inputs}
    inputs = [input_info(name) for name in order if name in used]
    members = [(m.onnx(inputs), "probabilities") for m in ensemble.models.values()]
    if ensemble.stacker is not None:  # a level-2 stack: the members under the stacker
        from training.engine.onnx_blend import stack_models
        from training.engine.stacking import EPS

        onx = dict(zip(ensemble.models, members, strict=True))
        model = stack_models([onx[n] for n in ensemble.stacker.members], ensemble.stacker.coef,
                             ensemble.stacker.intercept, classification=True, eps=EPS)
        return calibrate_onnx(model, ensemble.calibration)
    if len(members) == 1:
        model = members[0][0]
    else:
        model = blend_models(members, [ensemble.weights[n] for n in ensemble.models])
    return calibrate_onnx(model, ensemble.calibration)


ServedCheck = Callable[[Path, Ensemble], dict[str, Any]]


@dataclass
class Finished:
    metrics: dict[str, float]
    evaluation: dict[str, Any]
    predictions: list[dict[str, Any]]
    served: Ensemble
    train_params: dict[str, Any]


def proba_check(served_proba: Callable[[Path], np.ndarray], eval_rows: np.ndarray) -> ServedCheck:
    """The served check of a classifier: its ONNX predictor's probabilities on ``eval_rows``
    against the Python model's."""

    def check(folder: Path, served: Ensemble) -> dict[str, Any]:
        diff = max_abs_diff(served_proba(folder), served.predict(eval_rows)) if len(eval_rows) else 0.0
        return {"max_abs_diff": diff}

    return check


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
    served_check: ServedCheck,
    beat: Callable[[str, float], None],
) -> Finished:
    """Steps 3-4 of the engine guide, the one ending of every searching trainer: fit the
    selection on TRAIN, export it, evaluate THE EXPORTED model on EVAL; then (``refit``) fit
    it on all labelled rows, export that as the served bundle and check it against Python.

    ``write(ensemble, folder)`` writes model.onnx and a bundle.json the predictor can load;
    ``evaluate(folder, ensemble)`` -> metrics, evaluation (with onnx_check), predictions;
    ``served_check(folder, served)`` -> the served bundle's predictor against Python
    (a dict with max_abs_diff), kept as evaluation["served_check"]."""
    search_seconds = budget.elapsed()
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
        Path(bundle_dir).mkdir(parents=True, exist_ok=True)
        write(served, Path(bundle_dir))
        evaluation["served_check"] = served_check(Path(bundle_dir), served)
    served_text = f"refit on all {n_all} labelled rows" if refit else "the evaluated model"
    evaluation["search"] = {
        "validation": search.folds.describe(search.repeats_used),
        "leaderboard": search.leaderboard(),
        "selection": {**selection.describe(), "validation_score": selection.score},
        "evaluated_model": f"fit on the {n_train} TRAIN rows",
        "served_model": served_text,
        "seconds": {"search": round(search_seconds, 2), "final": round(budget.elapsed() - search_seconds, 2)},
    }
    # best_configs: what a version trained incrementally from this one tries first (warm_start).
    params = {"selection": selection.describe(), "served_model": served_text, "best_configs": best_configs(search)}
    return Finished(metrics, evaluation, predictions, served, params)

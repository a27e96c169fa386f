"""The tabular candidate families and their exact ONNX export.

Every family is an sklearn ``Pipeline(ColumnTransformer -> estimator)`` over the per-column
DataFrame the preprocessing builds (float32 numerics with NaN, categorical strings with a
sentinel for missing), so each one exports to ONE graph with one input per CSV column and
the members of an ensemble share their inputs.

Exactness (ONNX answers what Python answers, probabilities within 1e-5):

- Tree thresholds. LightGBM and sklearn keep split thresholds in float64; ONNX's
  TreeEnsemble stores them in float32, rounded to NEAREST. An input that equals the
  float32 rounding of a threshold lying just below it (decimals on a grid, e.g. 0.01 steps,
  where eval values sit between training values) goes left in the graph and right in
  Python: probabilities differ by up to 0.5. Inputs are float32 on both sides, so rounding
  every threshold DOWN to float32 changes no Python prediction (x <= t iff x <= the largest
  float32 <= t) and makes the float32 graph exact. ``exact_lightgbm`` / ``exact_sklearn_trees``
  do that on the fitted models.
- LightGBM's "missing type None" splits send NaN as 0.0; the converter follows the
  default_left flag, which LightGBM ignores there: ``exact_lightgbm`` sets the flag to the
  side 0.0 takes.
- CatBoost's ONNX export does not support categorical features: it gets the same encoded
  columns as LightGBM (one-hot / ordinal), NaN handled by its "Min" mode, which the graph
  reproduces (NaN fails every "greater than" test).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from training.engine.models.lightgbm_exact import exact_model_text
from training.engine.validation import make_folds

ONE_HOT_MAX_CATEGORIES = 16
EARLY_STOPPING_ROUNDS = 50
MAX_TREES = 3000
CATBOOST_MAX_TREES = 1500
FOREST_CHUNK = 10
ONNX_OPSET = {"": 17, "ai.onnx.ml": 3}


# ------------------------------------------------------------------ column transformers


def tree_columns(features: list[dict[str, str]], frame):
    """One-hot for small categoricals, ordinal codes for large ones, numerics as they are."""
    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder

    parts: list[tuple[str, Any, list[str]]] = []
    for f in features:
        if f["kind"] != "categorical":
            continue
        name = f["name"]
        if frame[name].nunique() <= ONE_HOT_MAX_CATEGORIES:
            encoder = OneHotEncoder(handle_unknown="ignore", sparse_output=False, dtype=np.float32)
        else:
            encoder = OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1, dtype=np.float32)
        parts.append((f"c_{name}", encoder, [name]))
    numerics = [f["name"] for f in features if f["kind"] == "numeric"]
    if numerics:
        parts.append(("num", "passthrough", numerics))
    return ColumnTransformer(parts, remainder="drop", sparse_threshold=0.0)


class NanFlags:
    """1.0 where a numeric input is missing, else 0.0: imputing a column erases that a value was
    missing, which is often telling (an applicant who leaves income blank). Its ONNX converter
    is IsNaN + Cast (registered in ``_register_converters``)."""

    def fit(self, X, y=None) -> NanFlags:
        self.n_features_in_ = np.asarray(X).shape[1]
        return self

    def transform(self, X) -> np.ndarray:
        return np.isnan(np.asarray(X, dtype=np.float32)).astype(np.float32)

    def fit_transform(self, X, y=None) -> np.ndarray:
        return self.fit(X).transform(X)

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {}

    def set_params(self, **params: Any) -> NanFlags:
        return self


def _nan_flags(numerics: list[str], frame) -> list[tuple[str, Any, list[str]]]:
    """A flags part for the numeric columns that have missing values in ``frame``."""
    missing = [n for n in numerics if frame[n].isna().any()]
    return [("nan", NanFlags(), missing)] if missing else []


def imputed_tree_columns(features: list[dict[str, str]], frame):
    """tree_columns with median-imputed numerics and missing flags (for sklearn forests)."""
    from sklearn.impute import SimpleImputer

    ct = tree_columns(features, frame)
    ct.transformers = [
        (n, SimpleImputer(strategy="median", keep_empty_features=True) if n == "num" else t, c)
        for n, t, c in ct.transformers
    ]
    ct.transformers += _nan_flags([f["name"] for f in features if f["kind"] == "numeric"], frame)
    return ct


def linear_columns(features: list[dict[str, str]], frame):
    """One-hot categoricals; numerics median-imputed and standardised."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    parts: list[tuple[str, Any, list[str]]] = [
        (f"c_{f['name']}", OneHotEncoder(handle_unknown="ignore", sparse_output=False, dtype=np.float32), [f["name"]])
        for f in features
        if f["kind"] == "categorical"
    ]
    numerics = [f["name"] for f in features if f["kind"] == "numeric"]
    if numerics:
        scaled = Pipeline(
            [("impute", SimpleImputer(strategy="median", keep_empty_features=True)), ("scale", StandardScaler())]
        )
        parts.append(("num", scaled, numerics))
        parts += _nan_flags(numerics, frame)
    return ColumnTransformer(parts, remainder="drop", sparse_threshold=0.0)


# ------------------------------------------------------------------ exactness fixes


def exact_lightgbm(model) -> None:
    """Rewrite a fitted LGBM model's booster so the float32 ONNX graph reproduces it exactly
    (see the module docstring); predictions on float32 inputs do not change."""
    import lightgbm

    model._Booster = lightgbm.Booster(model_str=exact_model_text(model.booster_.model_to_string()))


def exact_sklearn_trees(model) -> None:
    """Round a fitted sklearn forest's thresholds down to float32 (sklearn compares float32
    inputs too, so its predictions do not change)."""
    for est in getattr(model, "estimators_", [model]):
        tree = est.tree_
        th = tree.threshold  # a view on the tree's nodes: assignment writes through
        leaf = tree.children_left == -1
        down = th.astype(np.float32).astype(np.float64)
        over = down > th
        down[over] = np.nextafter(down[over].astype(np.float32), np.float32(-np.inf)).astype(np.float64)
        down[leaf] = th[leaf]
        th[:] = down
        if not np.array_equal(tree.threshold, down):
            raise RuntimeError("could not round the forest's thresholds")


# ------------------------------------------------------------------ fitted candidates


class FittedPipeline:
    """A fitted Pipeline predicting (n, k) probabilities over ALL classes, or values."""

    def __init__(self, pipeline, frame_of: Callable[[np.ndarray], Any], n_classes: int) -> None:
        self.pipeline = pipeline
        self.frame_of = frame_of
        self.n_classes = n_classes

    def predict(self, rows: np.ndarray) -> np.ndarray:
        frame = self.frame_of(rows)
        if not self.n_classes:
            return np.asarray(self.pipeline.predict(frame), dtype=np.float64).reshape(-1)
        proba = np.asarray(self.pipeline.predict_proba(frame), dtype=np.float64)
        classes = np.asarray(self.pipeline.classes_, dtype=np.int64)
        if len(classes) == self.n_classes:
            return proba
        full = np.zeros((len(proba), self.n_classes))
        full[:, classes] = proba
        return full

    @property
    def estimator(self):
        return self.pipeline.steps[-1][1]


def early_stopping_split(y: np.ndarray, *, classification: bool, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Positions to fit on and to stop on (a stratified fifth; every class stays in fit)."""
    folds = make_folds(y, classification=classification, seed=seed, expensive=True)
    return folds.splits[0]


class Families:
    """Builds the candidates' fit functions for one table (see tabular.py's portfolio)."""

    def __init__(
        self,
        *,
        features: list[dict[str, str]],
        frame_of: Callable[[np.ndarray], Any],
        y_of: Callable[[np.ndarray], np.ndarray],
        n_classes: int,
        threads: int,
        seed: int,
        beat: Callable[[], None],
    ) -> None:
        self.features = features
        self.frame_of = frame_of
        self.y_of = y_of
        self.n_classes = n_classes
        self.classification = n_classes > 0
        self.threads = threads
        self.seed = seed
        self.beat = beat  # a heartbeat from inside long fits (raises StopTraining)
        # Trees that early stopping chose in the candidate's cross-validation fits, so the
        # final fits on more rows train the same model without a stopping slice.
        self.trees: dict[str, list[int]] = {}
        self.final = False
        # Seconds one search fit may take (None: until the work deadline); the portfolio
        # sets it so a candidate and its final fits cannot overrun the budget.
        self.fit_cap: float | None = None
        self.final_factor = 2.5  # the final fits' cost in search fits (the trainer sets it)

    def _stop_at(self, budget) -> Callable[[], bool]:
        """The search's fits stop at the work deadline or after ``fit_cap`` seconds (a
        truncated candidate just scores worse); the final fits never stop early: a selection
        cut short would be served."""
        started, cap = budget.now(), self.fit_cap

        def stop() -> bool:
            self.beat()
            if self.final:
                return False
            now = budget.now()
            return now >= budget.work_deadline or (cap is not None and now - started >= cap)

        return stop

    def _final_trees(self, name: str, *, margin: float = 1.1) -> int | None:
        """For a final fit (more rows, no stopping slice): the trees the candidate's
        cross-validation fits chose, on average, plus ``margin``."""
        seen = self.trees.get(name)
        if not self.final or not seen:
            return None
        return max(1, int(round(float(np.mean(seen)) * margin)))

    # ------------------------------------------------------------------ LightGBM

    def lightgbm(self, name: str, params: dict[str, Any], *, tuned: bool):
        def fit(rows: np.ndarray, budget) -> FittedPipeline:
            import lightgbm
            from lightgbm import LGBMClassifier, LGBMRegressor
            from sklearn.pipeline import Pipeline

            frame, y = self.frame_of(rows), self.y_of(rows)
            ct = tree_columns(self.features, frame)
            cls = LGBMClassifier if self.classification else LGBMRegressor
            extra = dict(params)
            if extra.get("subsample", 1.0) < 1.0:
                extra["subsample_freq"] = 1
            callbacks = [_lgbm_stop(self._stop_at(budget))]
            final_trees = self._final_trees(name)
            if tuned and final_trees is None:
                fit_pos, stop_pos = early_stopping_split(y, classification=self.classification, seed=self.seed)
                ct.fit(frame.iloc[fit_pos])
                model = cls(n_estimators=MAX_TREES, n_jobs=self.threads, random_state=self.seed, verbose=-1, **extra)
                model.fit(
                    ct.transform(frame.iloc[fit_pos]), y[fit_pos],
                    eval_X=ct.transform(frame.iloc[stop_pos]), eval_y=y[stop_pos],
                    callbacks=[lightgbm.early_stopping(EARLY_STOPPING_ROUNDS, verbose=False), *callbacks],
                )
                best = int(model.best_iteration_ or model.n_estimators_)
                self.trees.setdefault(name, []).append(best)
                # The served pipeline is the one fitted here: refit the encoder on all rows
                # of the fit is not needed (it saw the rows the trees saw).
                pipeline = Pipeline([("prep", ct), ("model", model)])
                if best < model.n_estimators_:
                    model._Booster = model.booster_.__class__(model_str=model.booster_.model_to_string(num_iteration=best))
            else:
                n_trees = final_trees or extra.pop("n_estimators", 100)
                extra.pop("n_estimators", None)
                model = cls(n_estimators=n_trees, n_jobs=self.threads, random_state=self.seed, verbose=-1, **extra)
                pipeline = Pipeline([("prep", ct), ("model", model)])
                pipeline.fit(frame, y, model__callbacks=callbacks)
            exact_lightgbm(model)
            return FittedPipeline(pipeline, self.frame_of, self.n_classes)

        return fit

    # ------------------------------------------------------------------ linear

    def linear(self, strength: float):
        def fit(rows: np.ndarray, budget) -> FittedPipeline:
            from sklearn.linear_model import LogisticRegression, Ridge
            from sklearn.pipeline import Pipeline

            frame, y = self.frame_of(rows), self.y_of(rows)
            if self.classification:
                model = LogisticRegression(C=strength, max_iter=2000)
            else:
                model = Ridge(alpha=1.0 / strength)
            pipeline = Pipeline([("prep", linear_columns(self.features, frame)), ("model", model)]).fit(frame, y)
            return FittedPipeline(pipeline, self.frame_of, self.n_classes)

        return fit

    # ------------------------------------------------------------------ forests

    def extra_trees(self, name: str, params: dict[str, Any]):
        def fit(rows: np.ndarray, budget) -> FittedPipeline:
            from sklearn.ensemble import ExtraTreesClassifier, ExtraTreesRegressor
            from sklearn.pipeline import Pipeline

            frame, y = self.frame_of(rows), self.y_of(rows)
            cls = ExtraTreesClassifier if self.classification else ExtraTreesRegressor
            extra = dict(params)
            target = self._final_trees(name, margin=1.0) or int(extra.pop("n_estimators", 100))
            extra.pop("n_estimators", None)
            ct = imputed_tree_columns(self.features, frame)
            matrix = ct.fit_transform(frame)
            model = cls(n_estimators=0, warm_start=True, n_jobs=self.threads, random_state=self.seed, **extra)
            stop = self._stop_at(budget)
            # Grown in chunks, so the search's deadline can cut a slow forest short.
            while model.n_estimators < target:
                model.set_params(n_estimators=min(target, model.n_estimators + FOREST_CHUNK))
                model.fit(matrix, y)
                if stop():
                    break
            if not self.final:
                self.trees.setdefault(name, []).append(int(model.n_estimators))
            exact_sklearn_trees(model)
            return FittedPipeline(Pipeline([("prep", ct), ("model", model)]), self.frame_of, self.n_classes)

        return fit

    # ------------------------------------------------------------------ CatBoost

    def catboost(self, name: str, params: dict[str, Any]):
        def fit(rows: np.ndarray, budget) -> FittedPipeline:
            from catboost import CatBoostClassifier, CatBoostRegressor
            from sklearn.pipeline import Pipeline

            frame, y = self.frame_of(rows), self.y_of(rows)
            ct = tree_columns(self.features, frame)
            cls = CatBoostClassifier if self.classification else CatBoostRegressor
            common = dict(
                thread_count=self.threads, random_seed=self.seed, verbose=0, allow_writing_files=False,
                nan_mode="Min", **params,
            )
            if self.classification and len(np.unique(y)) > 2:
                common["loss_function"] = "MultiClass"
            stop = self._stop_at(budget)
            final_trees = self._final_trees(name)
            if final_trees is None:
                fit_pos, stop_pos = early_stopping_split(y, classification=self.classification, seed=self.seed)
                ct.fit(frame.iloc[fit_pos])
                model = cls(iterations=CATBOOST_MAX_TREES, od_type="Iter", od_wait=EARLY_STOPPING_ROUNDS, use_best_model=True, **common)
                model.fit(
                    ct.transform(frame.iloc[fit_pos]), y[fit_pos],
                    eval_set=(ct.transform(frame.iloc[stop_pos]), y[stop_pos]),
                    callbacks=[_CatBoostStop(stop)],
                )
                self.trees.setdefault(name, []).append(int(model.tree_count_))
            else:
                model = cls(iterations=final_trees, **common)
                ct.fit(frame)
                model.fit(ct.transform(frame), y, callbacks=[_CatBoostStop(stop)])
            return FittedPipeline(Pipeline([("prep", ct), ("model", model)]), self.frame_of, self.n_classes)

        return fit


def _lgbm_stop(stop: Callable[[], bool]):
    from lightgbm.callback import EarlyStopException

    def _callback(env) -> None:
        if stop():
            raise EarlyStopException(env.iteration, env.evaluation_result_list or [])

    _callback.order = 5  # type: ignore[attr-defined]
    return _callback


class _CatBoostStop:
    def __init__(self, stop: Callable[[], bool]) -> None:
        self.stop = stop

    def after_iteration(self, info) -> bool:
        return not self.stop()


# ------------------------------------------------------------------ export


def warm_imports() -> None:
    """Import the export stack before the search, so its seconds are spent where the
    budget sees them (on a busy machine these imports take seconds)."""
    import onnxruntime  # noqa: F401

    _register_converters()


def _register_converters() -> None:
    from catboost import CatBoostClassifier, CatBoostRegressor
    from skl2onnx import update_registered_converter
    from skl2onnx._supported_operators import sklearn_classifier_list
    from skl2onnx.common.shape_calculator import (
        calculate_linear_classifier_output_shapes,
        calculate_linear_regressor_output_shapes,
    )

    from training.engine.models.lightgbm_exact import register_lightgbm_converters

    register_lightgbm_converters()
    update_registered_converter(NanFlags, "ExemlNanFlags", _nan_flags_shape, _convert_nan_flags)
    update_registered_converter(
        CatBoostClassifier, "ExemlCatBoostClassifier", calculate_linear_classifier_output_shapes,
        _convert_catboost, options={"nocl": [True, False], "zipmap": [True, False, "columns"]},
    )
    # skl2onnx's parser gives label + probability outputs to the classifiers it lists.
    if CatBoostClassifier not in sklearn_classifier_list:
        sklearn_classifier_list.append(CatBoostClassifier)
    update_registered_converter(
        CatBoostRegressor, "ExemlCatBoostRegressor", calculate_linear_regressor_output_shapes, _convert_catboost
    )


def _nan_flags_shape(operator) -> None:
    from skl2onnx.common.data_types import FloatTensorType

    operator.outputs[0].type = FloatTensorType([operator.inputs[0].get_first_dimension(), operator.inputs[0].get_second_dimension()])


def _convert_nan_flags(scope, operator, container) -> None:
    from onnx import TensorProto

    flags = scope.get_unique_variable_name("nan_flags")
    container.add_node("IsNaN", [operator.inputs[0].full_name], [flags], name=scope.get_unique_operator_name("IsNaN"))
    container.add_node(
        "Cast", [flags], [operator.outputs[0].full_name], to=TensorProto.FLOAT,
        name=scope.get_unique_operator_name("Cast"),
    )


def _convert_catboost(scope, operator, container) -> None:
    """CatBoost's own ONNX export (one TreeEnsemble node) placed into the skl2onnx graph."""
    from catboost.utils import convert_to_onnx_object
    from onnx.helper import get_attribute_value

    onx = convert_to_onnx_object(operator.raw_operator)
    node = next(n for n in onx.graph.node if n.op_type.startswith("TreeEnsemble"))
    if onx.graph.initializer:
        raise NotImplementedError("CatBoost graphs with initializers are not supported")
    outputs = [o.full_name for o in operator.outputs]
    container.add_node(
        node.op_type, [operator.inputs[0].full_name], outputs[: len(node.output)],
        op_domain=node.domain, op_version=1,
        name=scope.get_unique_operator_name("CatBoost"),
        **{a.name: get_attribute_value(a) for a in node.attribute},
    )


def initial_types(features: list[dict[str, str]]):
    from skl2onnx.common.data_types import FloatTensorType, StringTensorType

    return [
        (f["name"], FloatTensorType([None, 1]) if f["kind"] == "numeric" else StringTensorType([None, 1]))
        for f in features
    ]


def to_onnx(fitted: FittedPipeline, features: list[dict[str, str]]):
    """One member's ModelProto and the name of the output to blend."""
    from skl2onnx import convert_sklearn

    _register_converters()
    model = fitted.estimator
    options = {id(model): {"zipmap": False}} if fitted.n_classes else None
    onx = convert_sklearn(fitted.pipeline, initial_types=initial_types(features), target_opset=ONNX_OPSET, options=options)
    return onx, ("probabilities" if fitted.n_classes else "variable")


def export_ensemble(models: dict[str, FittedPipeline], weights: dict[str, float], features: list[dict[str, str]],
                    stacker=None):
    """The selection as ONE graph (a single model is an ensemble of one, weight 1.0, which
    multiplies exactly) with one output: ``probabilities`` or ``variable``; a level-2 stack
    (``stacker``: training.engine.stacking.Stacker) as its members under the stacker."""
    from training.engine.onnx_blend import blend_models, stack_models

    output = "probabilities" if next(iter(models.values())).n_classes else "variable"
    if stacker is not None:
        from training.engine.stacking import EPS

        members = [to_onnx(models[name], features) for name in stacker.members]
        return stack_models(members, stacker.coef, stacker.intercept, classification=stacker.kind != "regression",
                            eps=EPS, output_name=output)
    members = [to_onnx(models[name], features) for name in weights]
    return blend_models(members, [weights[n] for n in weights], output_name=output)


# ------------------------------------------------------------------ importance


def feature_importance(models: dict[str, FittedPipeline], weights: dict[str, float], features: list[dict[str, str]]):
    """Importance per original column: each member's own measure (gain, |coefficient| x
    spread, impurity), normalised, weighted by the ensemble weight."""
    per_column = {f["name"]: 0.0 for f in features}
    numerics = [f["name"] for f in features if f["kind"] == "numeric"]
    for name, weight in weights.items():
        fitted = models[name]
        ct = fitted.pipeline.steps[0][1]
        est = fitted.estimator
        if hasattr(est, "booster_"):
            raw = np.asarray(est.booster_.feature_importance(importance_type="gain"), dtype=float)
        elif hasattr(est, "coef_"):
            raw = np.abs(np.atleast_2d(est.coef_)).sum(axis=0)
        else:
            raw = np.asarray(est.feature_importances_, dtype=float)
        mine = {c: 0.0 for c in per_column}
        for part, sl in ct.output_indices_.items():
            if part == "num":
                for offset, column in enumerate(numerics):
                    mine[column] += float(raw[sl.start + offset])
            elif part.startswith("c_"):
                mine[part[2:]] += float(raw[sl].sum())
        total = sum(mine.values()) or 1.0
        for c, v in mine.items():
            per_column[c] += weight * v / total
    rows = [{"feature": c, "importance": v} for c, v in per_column.items()]
    return sorted(rows, key=lambda r: -r["importance"])

"""Calibrated confidence: temperature scaling fitted on the search's out-of-fold predictions.

A blend of gradient-boosted trees, extra trees or a fine-tuned network is usually
over-confident: its top probability is near 1.00 even where it is wrong (or where the input
belongs to no class), so a threshold a user sets on it (the pre-label slider, a service's
threshold) filters nothing. Temperature scaling (Guo et al. 2017) divides the log-probabilities
by one scalar T and re-normalises:

    p_cal = softmax(log(clip(p, EPS, 1)) / T)

T > 1 softens, T < 1 sharpens; the order of the classes in a row never changes, so the argmax
(and accuracy) stays what it was. T is fitted by minimising the log loss of the selected
model's (or blend's) out-of-fold predictions with a bounded 1-D search, so it is learnt from
rows the models did not fit. The same formula is appended to the exported ONNX graph
(``calibrate_onnx``): what the engine evaluates is what a service answers.

One parameter fitted by log loss cannot bend the confidence curve: the log loss is ruled by
the few confident errors, so T grows until they are soft and the many right rows end up
under-confident (digits64's pixel model: T = 1.66 out of fold, top-label ECE 0.05 -> 0.08
in a cross-validation of the out-of-fold rows; docs/benchmarks.md). A second, optional step
maps the top-label confidence through an isotonic (monotone, piecewise-linear) function of
it, fitted on the tempered out-of-fold rows (``apply_isotonic``): the top class gets the
mapped confidence, the other classes share the rest in their proportions, and the top class
is never pushed below the second (the argmax stays). It is kept only where a 5-fold
cross-validation inside the out-of-fold rows gives it a lower log loss than the temperature
alone (each fitted on four fifths, scored on the fifth) by more than one standard error of
that difference (the one-standard-error rule: the simpler calibrator unless the richer one
is clearly better; a gain of 0.001 on a few hundred rows is noise and did not carry over to
test rows). The same rule for every data set; where the temperature's curve is right
already, temperature scaling stays alone.

Pure numpy (onnx imported lazily in ``calibrate_onnx``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

EPS = 1e-12  # probabilities below are clipped before the log (a class a member never saw has 0)
T_BOUNDS = (0.05, 20.0)
MIN_ROWS = 20  # fewer out-of-fold rows than this: too few to fit even one parameter; T = 1
ECE_BINS = 15
ISOTONIC_MIN_ROWS = 100  # a monotone step function needs rows in every stretch of confidence
ISOTONIC_CV_FOLDS = 5
# The top class is raised to (1 + this) times the confidence at which it would tie the second:
# strictly on top, in float32 (the graph) as in float64, so the argmax never moves.
TOP_MARGIN = 1e-4
MAX_SLOPE = 10.0  # the isotonic map rises at most 0.1 per 0.01 of confidence (see fit_isotonic)
GOLDEN_STEPS = 60  # the bracket shrinks by 0.618 per step: 60 steps are far below float noise
RAW_SUFFIX = "_uncalibrated"


@dataclass
class Calibration:
    """The fitted calibrator and what it did on the out-of-fold rows it was fitted on."""

    temperature: float
    rows: int
    log_loss_before: float
    log_loss_after: float
    ece_before: float
    ece_after: float
    method: str = "temperature"
    note: str = ""
    # Top-label isotonic map after the temperature (method "temperature+isotonic"): knots of a
    # piecewise-linear, non-decreasing function of the top confidence (empty: none).
    isotonic_x: list[float] = field(default_factory=list)
    isotonic_y: list[float] = field(default_factory=list)
    # Pooled log loss of the two methods in a cross-validation of the fit rows, and the standard
    # error of their per-row difference (empty: not run).
    cv_log_loss: dict[str, float] = field(default_factory=dict)

    @property
    def active(self) -> bool:
        """Whether it changes anything (T == 1 and no isotonic map leave the model and its
        graph untouched)."""
        return self.temperature != 1.0 or bool(self.isotonic_x)

    def as_dict(self) -> dict[str, Any]:
        def rounded(v: Any) -> Any:
            if isinstance(v, float):
                return round(v, 6)
            if isinstance(v, list):
                return [rounded(x) for x in v]
            if isinstance(v, dict):
                return {k: rounded(x) for k, x in v.items()}
            return v

        return {k: rounded(v) for k, v in asdict(self).items()}


# ------------------------------------------------------------------ the transform


def apply_temperature(proba: np.ndarray, temperature: float) -> np.ndarray:
    """softmax(log(clip(p)) / T) row by row; exactly what ``calibrate_onnx`` appends."""
    p = np.asarray(proba, dtype=np.float64)
    z = np.log(np.clip(p, EPS, 1.0)) / float(temperature)
    z -= z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _log_loss(y: np.ndarray, proba: np.ndarray) -> float:
    p = np.clip(proba[np.arange(len(y)), y], EPS, 1.0)
    return float(-np.mean(np.log(p)))


def _nll_at(logp: np.ndarray, y: np.ndarray, temperature: float) -> float:
    """Log loss of softmax(logp / T): log-sum-exp form, stable for any T in the bounds."""
    z = logp / temperature
    m = z.max(axis=1, keepdims=True)
    lse = m[:, 0] + np.log(np.exp(z - m).sum(axis=1))
    return float(np.mean(lse - z[np.arange(len(y)), y]))


def _golden(f, lo: float, hi: float, steps: int = GOLDEN_STEPS) -> float:
    """argmin of a unimodal ``f`` on [lo, hi] (golden-section search)."""
    ratio = (np.sqrt(5.0) - 1.0) / 2.0
    a, b = lo, hi
    c, d = b - ratio * (b - a), a + ratio * (b - a)
    fc, fd = f(c), f(d)
    for _ in range(steps):
        if fc <= fd:
            b, d, fd = d, c, fc
            c = b - ratio * (b - a)
            fc = f(c)
        else:
            a, c, fc = c, d, fd
            d = a + ratio * (b - a)
            fd = f(d)
    return (a + b) / 2.0


def _top(proba: np.ndarray) -> np.ndarray:
    return np.max(proba, axis=1)


def fit_temperature(y: np.ndarray, proba: np.ndarray, *, bounds: tuple[float, float] = T_BOUNDS) -> tuple[float, str]:
    """(T, note). T minimises the log loss of ``apply_temperature(proba, T)`` on labels ``y``
    over ``bounds`` (searched in log T, where the loss is smooth and unimodal in practice).

    Without a single error on these rows the log loss falls for ever as T shrinks (every
    right answer wants confidence 1.00): T is then chosen so the mean top confidence is
    (n + 1) / (n + 2), Laplace's estimate of the accuracy after n right out of n, rather
    than the bound."""
    y = np.asarray(y, dtype=np.int64)
    proba = np.asarray(proba, dtype=np.float64)
    n = len(y)
    if n < MIN_ROWS or proba.ndim != 2 or proba.shape[1] < 2:
        return 1.0, f"not calibrated: {n} out-of-fold rows (needs {MIN_ROWS})"
    logp = np.log(np.clip(proba, EPS, 1.0))
    lo, hi = np.log(bounds[0]), np.log(bounds[1])
    if np.all(np.argmax(proba, axis=1) == y):
        target = (n + 1.0) / (n + 2.0)
        # Mean top confidence falls monotonically as T grows: bisect log T on it.
        a, b = lo, hi
        for _ in range(GOLDEN_STEPS):
            mid = (a + b) / 2.0
            if float(np.mean(_top(apply_temperature(proba, np.exp(mid))))) > target:
                a = mid
            else:
                b = mid
        return float(np.exp((a + b) / 2.0)), f"no out-of-fold errors: mean confidence set to (n+1)/(n+2) = {target:.4f}"
    best = float(np.exp(_golden(lambda t: _nll_at(logp, y, float(np.exp(t))), lo, hi)))
    # Keep the model as it is unless scaling lowers the out-of-fold log loss.
    if _nll_at(logp, y, best) >= _nll_at(logp, y, 1.0):
        return 1.0, "T = 1 already minimises the out-of-fold log loss"
    return best, ""


def apply_isotonic(proba: np.ndarray, xs: list[float] | np.ndarray, ys: list[float] | np.ndarray) -> np.ndarray:
    """The top-label map: exactly what ``calibrate_onnx`` appends after the temperature.

    top = max p; new = the piecewise-linear interpolation of (xs, ys) at top (constant
    outside [xs[0], xs[-1]]), raised to at least second / (1 - top + second) (times 1 +
    TOP_MARGIN) so the top class stays the largest; the top class gets ``new``, every other
    class p * (1 - new) / (1 - top), 1 - top taken as the sum of the others; rows are
    re-normalised (they sum to 1 already unless the top is tied)."""
    p = np.asarray(proba, dtype=np.float64)
    top = p.max(axis=1, keepdims=True)
    rest = (p < top).astype(np.float64)
    # 1 - top as the sum of the other classes: where top is 0.9999 its float32 complement keeps
    # 3 digits, and the others, scaled by (1 - new) / (1 - top), would inherit that error.
    below = (p * rest).sum(axis=1, keepdims=True)
    second = (p * rest).max(axis=1, keepdims=True)
    x0, widths, slopes, y0 = _segments(xs, ys)
    new = y0 + np.clip(top - x0[None, :], 0.0, widths[None, :]) @ slopes[:, None]
    new = np.maximum(new, second / np.maximum(below + second, EPS) * (1.0 + TOP_MARGIN))
    scale = (1.0 - new) / np.maximum(below, EPS)
    q = (1.0 - rest) * new + rest * p * scale
    return q / q.sum(axis=1, keepdims=True)


def _segments(xs: Any, ys: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """(segment starts, widths, slopes, value at the first knot) of the knots' interpolation;
    one knot: one flat segment."""
    xs, ys = np.asarray(xs, dtype=np.float64), np.asarray(ys, dtype=np.float64)
    if len(xs) < 2:
        return xs[:1], np.ones(1), np.zeros(1), float(ys[0])
    widths = np.diff(xs)
    return xs[:-1], widths, np.diff(ys) / widths, float(ys[0])


def _top_right(y: np.ndarray, proba: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return _top(proba), (np.argmax(proba, axis=1) == y).astype(np.float64)


def fit_isotonic(y: np.ndarray, proba: np.ndarray) -> tuple[list[float], list[float]]:
    """Knots (x, value) of a non-decreasing map from the top confidence to P(top class right).

    The blocks of the isotonic least-squares fit (pool adjacent violators, sklearn's
    IsotonicRegression) become knots at their mean confidence, valued (right + 1) /
    (rows + 2) (Laplace: a block without an error does not say 1.00); adjacent blocks are
    merged while that breaks the order or a segment rises faster than MAX_SLOPE (a steep step
    would turn the float32 rounding of a served graph into visible differences, and a jump
    between two neighbouring confidences is what a few rows draw by chance)."""
    from sklearn.isotonic import IsotonicRegression

    conf, right = _top_right(y, proba)
    order = np.argsort(conf, kind="stable")
    conf, right = conf[order], right[order]
    fitted = IsotonicRegression(y_min=0.0, y_max=1.0, increasing=True).fit_transform(conf, right)
    starts = np.flatnonzero(np.r_[True, np.diff(fitted) != 0])
    bounds = np.r_[starts, len(conf)]
    # Per block: [sum of confidences, rows right, rows]
    blocks = [[float(conf[a:b].sum()), float(right[a:b].sum()), float(b - a)] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]

    def x(b: list[float]) -> float:
        return b[0] / b[2]

    def v(b: list[float]) -> float:
        return (b[1] + 1.0) / (b[2] + 2.0)

    merged = True
    while merged and len(blocks) > 1:
        merged = False
        for i in range(len(blocks) - 1):
            a, b = blocks[i], blocks[i + 1]
            dx = x(b) - x(a)
            if v(b) < v(a) or dx <= 1e-6 or (v(b) - v(a)) / dx > MAX_SLOPE:
                blocks[i : i + 2] = [[a[0] + b[0], a[1] + b[1], a[2] + b[2]]]
                merged = True
                break
    return [x(b) for b in blocks], [v(b) for b in blocks]


def cross_validated_log_loss(y: np.ndarray, proba: np.ndarray, *, folds: int = ISOTONIC_CV_FOLDS,
                          seed: int = 0) -> dict[str, float]:
    """Pooled log loss of "temperature" and "temperature+isotonic", each fitted on the other
    folds of these rows and scored on the held-out fold (the proper score the temperature is
    fitted by; a binned ECE on a fifth of a few hundred rows is mostly bin noise), and
    "standard_error": that of the mean per-row difference between the two."""
    y = np.asarray(y, dtype=np.int64)
    proba = np.asarray(proba, dtype=np.float64)
    fold = np.random.default_rng(seed).permutation(len(y)) % folds
    out = {"temperature": np.zeros_like(proba), "temperature+isotonic": np.zeros_like(proba)}
    for f in range(folds):
        fit_rows, held = fold != f, fold == f
        t, _ = fit_temperature(y[fit_rows], proba[fit_rows])
        tempered_fit = apply_temperature(proba[fit_rows], t)
        tempered = apply_temperature(proba[held], t)
        out["temperature"][held] = tempered
        out["temperature+isotonic"][held] = apply_isotonic(tempered, *fit_isotonic(y[fit_rows], tempered_fit))
    losses = {k: -np.log(np.clip(v[np.arange(len(y)), y], EPS, 1.0)) for k, v in out.items()}
    diff = losses["temperature"] - losses["temperature+isotonic"]
    return {
        **{k: float(v.mean()) for k, v in losses.items()},
        "standard_error": float(diff.std(ddof=1) / np.sqrt(len(y))),
    }


def fit(y: np.ndarray, proba: np.ndarray, *, bins: int = ECE_BINS) -> Calibration:
    """The calibrator fitted on out-of-fold probabilities ``proba`` with labels ``y``: the
    temperature, followed by a top-label isotonic map where a cross-validation inside these
    rows says it predicts better (see the module docstring)."""
    y = np.asarray(y, dtype=np.int64)
    proba = np.asarray(proba, dtype=np.float64)
    temperature, note = fit_temperature(y, proba)
    after = apply_temperature(proba, temperature) if temperature != 1.0 else proba
    method, xs, ys, cv = "temperature", [], [], {}
    if len(y) >= ISOTONIC_MIN_ROWS and proba.ndim == 2 and proba.shape[1] >= 2 and not np.all(np.argmax(proba, axis=1) == y):
        cv = cross_validated_log_loss(y, proba)
        if cv["temperature"] - cv["temperature+isotonic"] > cv["standard_error"]:
            method = "temperature+isotonic"
            tempered = apply_temperature(proba, temperature)  # as ``calibrated`` does, T = 1 too
            xs, ys = fit_isotonic(y, tempered)
            after = apply_isotonic(tempered, xs, ys)
    return Calibration(
        temperature=float(temperature),
        rows=int(len(y)),
        log_loss_before=_log_loss(y, proba),
        log_loss_after=_log_loss(y, after),
        ece_before=expected_calibration_error(y, proba, bins=bins),
        ece_after=expected_calibration_error(y, after, bins=bins),
        method=method,
        note=note,
        isotonic_x=xs,
        isotonic_y=ys,
        cv_log_loss=cv,
    )


def calibrated(proba: np.ndarray, calibration: Calibration | None) -> np.ndarray:
    """``proba`` through ``calibration`` (unchanged when there is none or it does nothing)."""
    if calibration is None or not calibration.active:
        return np.asarray(proba, dtype=np.float64)
    out = apply_temperature(proba, calibration.temperature)
    if calibration.isotonic_x:
        out = apply_isotonic(out, calibration.isotonic_x, calibration.isotonic_y)
    return out


# ------------------------------------------------------------------ measuring it


def reliability(y: np.ndarray, proba: np.ndarray, *, bins: int = ECE_BINS) -> list[dict[str, Any]]:
    """Top-label reliability diagram: ``bins`` equal-width confidence bins over [0, 1], each
    with its rows, mean confidence and accuracy (empty bins have count 0 and None values).

    ``y`` may hold -1 for a row whose true class the model does not know (always wrong)."""
    y = np.asarray(y, dtype=np.int64)
    proba = np.asarray(proba, dtype=np.float64)
    conf = _top(proba) if len(y) else np.zeros(0)
    right = (np.argmax(proba, axis=1) == y) if len(y) else np.zeros(0, dtype=bool)
    # Bin i holds (i/bins, (i+1)/bins]; a confidence of exactly 0 goes to the first bin.
    index = np.clip(np.ceil(conf * bins).astype(np.int64) - 1, 0, bins - 1)
    out = []
    for i in range(bins):
        mask = index == i
        count = int(mask.sum())
        out.append({
            "lo": round(i / bins, 6),
            "hi": round((i + 1) / bins, 6),
            "count": count,
            "confidence": float(conf[mask].mean()) if count else None,
            "accuracy": float(right[mask].mean()) if count else None,
        })
    return out


def expected_calibration_error(y: np.ndarray, proba: np.ndarray, *, bins: int = ECE_BINS) -> float:
    """ECE: the row-weighted mean gap between confidence and accuracy over the top-label bins."""
    n = len(y)
    if not n:
        return 0.0
    return float(sum(
        b["count"] / n * abs(b["confidence"] - b["accuracy"]) for b in reliability(y, proba, bins=bins) if b["count"]
    ))


def ece_noise_floor(confidence: np.ndarray, *, bins: int = ECE_BINS, draws: int = 200, seed: int = 0) -> float:
    """The ECE a PERFECTLY calibrated model with these top confidences would still show on
    this many rows (its answers right with probability = confidence), averaged over ``draws``:
    on 60 rows sampling noise alone reads as an ECE near 0.08, so a figure is judged against it."""
    conf = np.asarray(confidence, dtype=np.float64)
    n = len(conf)
    if not n:
        return 0.0
    index = np.clip(np.ceil(conf * bins).astype(np.int64) - 1, 0, bins - 1)
    conf_sum = np.bincount(index, weights=conf, minlength=bins)
    right = np.random.default_rng(seed).random((draws, n)) < conf
    # Per draw and bin: |sum of confidences - rows right| / n, summed over bins.
    right_sum = np.stack([np.bincount(index, weights=r, minlength=bins) for r in right.astype(np.float64)])
    return float(np.mean(np.abs(conf_sum[None, :] - right_sum).sum(axis=1) / n))


def evaluation_block(
    y: np.ndarray, before: np.ndarray, after: np.ndarray, calibration: Calibration | None, *, bins: int = ECE_BINS
) -> dict[str, Any]:
    """evaluation["calibration"]: ECE, accuracy and the reliability diagram on the EVAL rows
    for the model without (``before``) and with (``after``, what is served) calibration, and
    the calibrator as fitted on the out-of-fold rows."""
    y = np.asarray(y, dtype=np.int64)

    def side(proba: np.ndarray) -> dict[str, Any]:
        proba = np.asarray(proba, dtype=np.float64)
        return {
            "ece": expected_calibration_error(y, proba, bins=bins),
            "accuracy": float(np.mean(np.argmax(proba, axis=1) == y)) if len(y) else 0.0,
            "mean_confidence": float(np.mean(_top(proba))) if len(y) else 0.0,
            "ece_noise_floor": ece_noise_floor(_top(proba), bins=bins) if len(y) else 0.0,
            "reliability": reliability(y, proba, bins=bins),
        }

    return {
        "method": calibration.method if calibration else "none",
        "temperature": calibration.temperature if calibration else 1.0,
        "bins": bins,
        "support": int(len(y)),
        "fitted_on": calibration.as_dict() if calibration else None,
        "before": side(before),
        "after": side(after),
    }


# ------------------------------------------------------------------ the ONNX graph


def calibrate_onnx(model: Any, calibration: Calibration | float | None, *, output: str = "probabilities") -> Any:
    """``model`` (a ModelProto whose ``output`` holds class probabilities [N, C]) with its
    calibration appended, so ``output`` is the calibrated probability (the raw one stays
    reachable inside as ``output + RAW_SUFFIX``): clip (Max, Min) -> Log -> Div(T) -> Softmax,
    then, for "temperature+isotonic", the top-label map of ``apply_isotonic``.
    ``calibration``: a Calibration or a bare temperature; None, T = 1 or inactive: unchanged."""
    if isinstance(calibration, Calibration):
        if not calibration.active:
            return model
        temperature, xs, ys = calibration.temperature, calibration.isotonic_x, calibration.isotonic_y
    else:
        if calibration is None or float(calibration) == 1.0:
            return model
        temperature, xs, ys = float(calibration), [], []
    import onnx
    from onnx import TensorProto, helper

    out = onnx.ModelProto()
    out.CopyFrom(model)
    graph = out.graph
    raw = output + RAW_SUFFIX
    if not any(o.name == output for o in graph.output):
        raise ValueError(f"the model has no output {output!r}")
    for node in graph.node:
        node.output[:] = [raw if n == output else n for n in node.output]
        node.input[:] = [raw if n == output else n for n in node.input]
    opset = next((imp.version for imp in out.opset_import if imp.domain in ("", "ai.onnx")), 0)
    if opset < 8:  # Max/Min broadcasting; raising the opset could change other nodes' meaning
        raise ValueError(f"calibration needs ONNX opset 8 or later, the model has {opset}")
    names = {k: f"calibration_{k}" for k in ("cast", "floor", "clip", "log", "scaled", "eps", "one", "t")}
    graph.initializer.extend([
        helper.make_tensor(names["eps"], TensorProto.FLOAT, [], [EPS]),
        helper.make_tensor(names["one"], TensorProto.FLOAT, [], [1.0]),
        helper.make_tensor(names["t"], TensorProto.FLOAT, [], [float(temperature)]),
    ])
    tempered = output if not xs else "calibration_tempered"
    graph.node.extend([
        helper.make_node("Cast", [raw], [names["cast"]], to=TensorProto.FLOAT, name="calibration_cast"),
        # clip(p, EPS, 1) as Max then Min: the same in every opset from 8 (Clip's bounds moved
        # from attributes to inputs at 11, and a LightGBM member's graph may be opset 9).
        helper.make_node("Max", [names["cast"], names["eps"]], [names["floor"]], name="calibration_max"),
        helper.make_node("Min", [names["floor"], names["one"]], [names["clip"]], name="calibration_min"),
        helper.make_node("Log", [names["clip"]], [names["log"]], name="calibration_log"),
        helper.make_node("Div", [names["log"], names["t"]], [names["scaled"]], name="calibration_div"),
        # axis 1 of [N, C]: the same in every opset (before 13 Softmax flattens from the axis).
        helper.make_node("Softmax", [names["scaled"]], [tempered], axis=1, name="calibration_softmax"),
    ])
    if xs:
        _append_isotonic(graph, tempered, output, xs, ys, opset)
    for o in graph.output:
        if o.name == output:
            o.type.tensor_type.elem_type = TensorProto.FLOAT
    onnx.checker.check_model(out)
    return out


def _iso_name(key: str) -> str:
    return f"calibration_iso_{key}"


def _isotonic_constants(graph: Any, xs: list[float], ys: list[float]) -> None:
    """The map's segments (start, width, slope), its first value and the graph's constants."""
    from onnx import TensorProto, helper, numpy_helper

    x0, widths, slopes, y0 = _segments(xs, ys)
    n = _iso_name
    graph.initializer.extend([
        numpy_helper.from_array(x0.astype(np.float32), n("x0")),
        numpy_helper.from_array(widths.astype(np.float32), n("widths")),
        numpy_helper.from_array(slopes.astype(np.float32).reshape(-1, 1), n("slopes")),
        helper.make_tensor(n("y0"), TensorProto.FLOAT, [], [y0]),
        helper.make_tensor(n("zero"), TensorProto.FLOAT, [], [0.0]),
        helper.make_tensor(n("margin"), TensorProto.FLOAT, [], [1.0 + TOP_MARGIN]),
    ])


def _append_isotonic(graph: Any, source: str, output: str, xs: list[float], ys: list[float], opset: int) -> None:
    """``output`` = apply_isotonic(``source``) as ONNX nodes valid from opset 8: the
    interpolation is sum_k slope_k * clip(top - x_k, 0, width_k) (Sub, Max, Min, MatMul), the
    class mask is Less (float inputs from opset 7) cast to float instead of Equal/Where."""
    from onnx import TensorProto, helper, numpy_helper

    n = _iso_name
    _isotonic_constants(graph, xs, ys)
    one, eps = "calibration_one", "calibration_eps"

    def reduce(op: str, x: str, y: str) -> list[Any]:
        # ReduceMax took its axes as an attribute up to opset 17 (ReduceSum up to 12), then as an input.
        if (op == "ReduceSum" and opset >= 13) or opset >= 18:
            axes = n(f"{y}_axes")
            graph.initializer.append(numpy_helper.from_array(np.array([1], dtype=np.int64), axes))
            return [helper.make_node(op, [x, axes], [y], keepdims=1, name=y)]
        return [helper.make_node(op, [x], [y], axes=[1], keepdims=1, name=y)]

    def node(op: str, inputs: list[str], out: str, **attrs: Any) -> Any:
        return helper.make_node(op, inputs, [out], name=out, **attrs)

    p = source
    graph.node.extend([
        *reduce("ReduceMax", p, n("top")),
        node("Less", [p, n("top")], n("less")),
        node("Cast", [n("less")], n("rest"), to=TensorProto.FLOAT),
        node("Sub", [one, n("rest")], n("is_top")),
        node("Mul", [p, n("rest")], n("rest_p")),
        *reduce("ReduceMax", n("rest_p"), n("second")),
        # new = y0 + clip(top - x0, 0, widths) @ slopes
        node("Sub", [n("top"), n("x0")], n("dx")),
        node("Max", [n("dx"), n("zero")], n("dx_pos")),
        node("Min", [n("dx_pos"), n("widths")], n("dx_clip")),
        node("MatMul", [n("dx_clip"), n("slopes")], n("rise")),
        node("Add", [n("rise"), n("y0")], n("mapped")),
        # keep the top class the largest: new >= second / (1 - top + second) * (1 + TOP_MARGIN),
        # 1 - top summed from the others (precise where top is near 1; see apply_isotonic)
        *reduce("ReduceSum", n("rest_p"), n("one_minus_top")),
        node("Add", [n("one_minus_top"), n("second")], n("floor_den")),
        node("Max", [n("floor_den"), eps], n("floor_den_safe")),
        node("Div", [n("second"), n("floor_den_safe")], n("tie")),
        node("Mul", [n("tie"), n("margin")], n("floor")),
        node("Max", [n("mapped"), n("floor")], n("new")),
        # the others share 1 - new in their proportions
        node("Sub", [one, n("new")], n("one_minus_new")),
        node("Max", [n("one_minus_top"), eps], n("one_minus_top_safe")),
        node("Div", [n("one_minus_new"), n("one_minus_top_safe")], n("scale")),
        node("Mul", [n("rest_p"), n("scale")], n("others")),
        node("Mul", [n("is_top"), n("new")], n("top_part")),
        node("Add", [n("others"), n("top_part")], n("unnormalised")),
        *reduce("ReduceSum", n("unnormalised"), n("total")),
        node("Div", [n("unnormalised"), n("total")], output),
    ])

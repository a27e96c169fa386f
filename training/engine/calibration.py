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

Pure numpy (onnx imported lazily in ``calibrate_onnx``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

EPS = 1e-12  # probabilities below are clipped before the log (a class a member never saw has 0)
T_BOUNDS = (0.05, 20.0)
MIN_ROWS = 20  # fewer out-of-fold rows than this: too few to fit even one parameter; T = 1
ECE_BINS = 15
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

    @property
    def active(self) -> bool:
        """Whether it changes anything (T == 1 leaves the model and its graph untouched)."""
        return self.temperature != 1.0

    def as_dict(self) -> dict[str, Any]:
        return {k: (round(v, 6) if isinstance(v, float) else v) for k, v in asdict(self).items()}


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


def fit(y: np.ndarray, proba: np.ndarray, *, bins: int = ECE_BINS) -> Calibration:
    """A temperature calibrator fitted on out-of-fold probabilities ``proba`` with labels ``y``."""
    y = np.asarray(y, dtype=np.int64)
    proba = np.asarray(proba, dtype=np.float64)
    temperature, note = fit_temperature(y, proba)
    after = apply_temperature(proba, temperature) if temperature != 1.0 else proba
    return Calibration(
        temperature=float(temperature),
        rows=int(len(y)),
        log_loss_before=_log_loss(y, proba),
        log_loss_after=_log_loss(y, after),
        ece_before=expected_calibration_error(y, proba, bins=bins),
        ece_after=expected_calibration_error(y, after, bins=bins),
        note=note,
    )


def calibrated(proba: np.ndarray, calibration: Calibration | None) -> np.ndarray:
    """``proba`` through ``calibration`` (unchanged when there is none or it is T = 1)."""
    if calibration is None or not calibration.active:
        return np.asarray(proba, dtype=np.float64)
    return apply_temperature(proba, calibration.temperature)


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


def calibrate_onnx(model: Any, temperature: float | None, *, output: str = "probabilities") -> Any:
    """``model`` (a ModelProto whose ``output`` holds class probabilities [N, C]) with
    clip (Max, Min) -> Log -> Div(T) -> Softmax appended, so ``output`` is the calibrated probability
    (the raw one stays reachable inside as ``output + RAW_SUFFIX``). T None or 1: unchanged."""
    if temperature is None or float(temperature) == 1.0:
        return model
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
    graph.node.extend([
        helper.make_node("Cast", [raw], [names["cast"]], to=TensorProto.FLOAT, name="calibration_cast"),
        # clip(p, EPS, 1) as Max then Min: the same in every opset from 8 (Clip's bounds moved
        # from attributes to inputs at 11, and a LightGBM member's graph may be opset 9).
        helper.make_node("Max", [names["cast"], names["eps"]], [names["floor"]], name="calibration_max"),
        helper.make_node("Min", [names["floor"], names["one"]], [names["clip"]], name="calibration_min"),
        helper.make_node("Log", [names["clip"]], [names["log"]], name="calibration_log"),
        helper.make_node("Div", [names["log"], names["t"]], [names["scaled"]], name="calibration_div"),
        # axis 1 of [N, C]: the same in every opset (before 13 Softmax flattens from the axis).
        helper.make_node("Softmax", [names["scaled"]], [output], axis=1, name="calibration_softmax"),
    ])
    for o in graph.output:
        if o.name == output:
            o.type.tensor_type.elem_type = TensorProto.FLOAT
    onnx.checker.check_model(out)
    return out

"""Sound classification's candidate families (training.engine.models.base's interface):
standardised clip statistics + logistic regression, LightGBM on the same statistics
(thresholds rounded to float32 so the ONNX tree compares exactly like the booster), and a
small log-mel CNN trained with SpecAugment. Each fits on row positions of a SoundData and
exports a graph over the shared inputs."""

from __future__ import annotations

import io
from typing import Any

import numpy as np

from training.engine.accelerator import CPU
from training.engine.budget import Budget
from training.engine.models.base import OPSET, full_proba, linear_weights, make_model, with_inputs
from training.engine.models.lightgbm_exact import exact_model_text


class SoundData:
    def __init__(self, summary: np.ndarray, log_mel: np.ndarray | None, y: np.ndarray, n_classes: int,
                 seed: int, threads: int) -> None:
        self.summary, self.log_mel, self.y = summary, log_mel, y
        self.n_classes, self.seed, self.threads = n_classes, seed, threads
        self.max_rounds = 10**6  # a cap on LightGBM's boosting rounds (params["max_rounds"])
        self.accelerator = CPU  # where the CNN trains
        self.seconds_per_clip = 0.0  # decoding + features of one clip, measured

    def input_info(self, name: str):
        from onnx import TensorProto, helper

        shape = (self.summary if name == "summary" else self.log_mel).shape[1:]
        return helper.make_tensor_value_info(name, TensorProto.FLOAT, [None, *shape])


# ----------------------------------------------------------------------------- linear


class LinearSound:
    """Standardised summary features + logistic regression; the graph is (x - mean) / scale,
    MatMul, Add, Softmax."""

    inputs = ("summary",)

    def __init__(self, data: SoundData, params: dict[str, Any], rows: np.ndarray) -> None:
        from sklearn.linear_model import LogisticRegression

        self.data = data
        x = data.summary[rows].astype(np.float64)
        self.mean = x.mean(axis=0)
        self.scale = np.where(x.std(axis=0) > 1e-6, x.std(axis=0), 1.0)
        self.model = LogisticRegression(C=float(params["C"]), max_iter=2000, random_state=data.seed)
        self.model.fit(self._x(rows), data.y[rows])

    def _x(self, rows: np.ndarray) -> np.ndarray:
        # float32 steps, as the graph computes them, so both sides see the same inputs
        x = self.data.summary[rows].astype(np.float32)
        return ((x - self.mean.astype(np.float32)) / self.scale.astype(np.float32)).astype(np.float64)

    def predict(self, rows: np.ndarray) -> np.ndarray:
        return full_proba(self.model, self._x(rows), self.data.n_classes)

    def onnx(self, inputs):
        from onnx import helper, numpy_helper

        w, b = linear_weights(self.model, self.data.n_classes)
        consts = [
            numpy_helper.from_array(self.mean.astype(np.float32), "mean"),
            numpy_helper.from_array(self.scale.astype(np.float32), "scale"),
            numpy_helper.from_array(w.astype(np.float32), "W"),
            numpy_helper.from_array(b.astype(np.float32), "B"),
        ]
        nodes = [
            helper.make_node("Sub", ["summary", "mean"], ["centred"]),
            helper.make_node("Div", ["centred", "scale"], ["z"]),
            helper.make_node("MatMul", ["z", "W"], ["dot"]),
            helper.make_node("Add", ["dot", "B"], ["logits"]),
            helper.make_node("Softmax", ["logits"], ["probabilities"], axis=-1),
        ]
        return make_model(nodes, inputs, consts, name="summary_linear", n_classes=self.data.n_classes)


# ----------------------------------------------------------------------------- LightGBM

LGBM_DEFAULTS: dict[str, Any] = {"learning_rate": 0.1, "num_leaves": 31, "min_child_samples": 20,
                                 "colsample_bytree": 1.0, "reg_lambda": 0.0, "rounds": 100}


class LGBMSound:
    inputs = ("summary",)

    def __init__(self, data: SoundData, params: dict[str, Any], rows: np.ndarray, budget: Budget,
                 init_model: str | None = None) -> None:
        import lightgbm

        self.data = data
        k = data.n_classes
        p = {**LGBM_DEFAULTS, **params}
        train_params = {
            "objective": "binary" if k == 2 else "multiclass", "num_class": 1 if k == 2 else k,
            "learning_rate": p["learning_rate"], "num_leaves": int(p["num_leaves"]),
            "min_child_samples": int(p["min_child_samples"]), "feature_fraction": p["colsample_bytree"],
            "lambda_l2": p["reg_lambda"], "num_threads": data.threads, "seed": data.seed, "verbose": -1,
            "min_data_in_bin": 1,
        }
        # A refit runs after the search, in the budget's export reserve: only the hard deadline stops it.
        deadline = budget.deadline

        def stop_at_deadline(env) -> None:
            if budget.now() >= deadline:
                raise lightgbm.callback.EarlyStopException(env.iteration, env.evaluation_result_list or [])

        booster = lightgbm.train(
            train_params, lightgbm.Dataset(data.summary[rows], data.y[rows], free_raw_data=False),
            num_boost_round=min(int(p["rounds"]), data.max_rounds), init_model=init_model, callbacks=[stop_at_deadline],
        )
        self.booster = lightgbm.Booster(model_str=exact_model_text(booster.model_to_string()))

    def _proba(self, x: np.ndarray) -> np.ndarray:
        out = np.asarray(self.booster.predict(x), dtype=np.float64)
        return np.column_stack([1.0 - out, out]) if out.ndim == 1 else out

    def predict(self, rows: np.ndarray) -> np.ndarray:
        return self._proba(self.data.summary[rows])

    def onnx(self, inputs):
        from onnxmltools.convert import convert_lightgbm
        from onnxmltools.convert.common.data_types import FloatTensorType

        model = convert_lightgbm(
            self.booster, initial_types=[("summary", FloatTensorType([None, self.data.summary.shape[1]]))],
            target_opset=15, zipmap=False,  # the highest this onnxmltools converter supports
        )
        return with_inputs(model, inputs)


# ----------------------------------------------------------------------------- CNN


def _cnn(n_classes: int):
    import torch
    from torch import nn

    class SmallCNN(nn.Module):
        def __init__(self) -> None:
            super().__init__()

            def block(cin, cout):
                return nn.Sequential(
                    nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(), nn.MaxPool2d(2)
                )

            self.features = nn.Sequential(block(1, 16), block(16, 32), block(32, 64))
            self.head = nn.Linear(64, n_classes)

        def forward(self, x):
            x = (x + 50.0) / 30.0  # dB log-mel to roughly unit scale
            return self.head(self.features(x).mean(dim=(2, 3)))

    class WithSoftmax(nn.Module):
        def __init__(self, net):
            super().__init__()
            self.net = net

        def forward(self, log_mel):
            return torch.softmax(self.net(log_mel), dim=-1)

    return SmallCNN(), WithSoftmax


def _spec_augment(batch, rng: np.random.Generator):
    """SpecAugment (Park et al. 2019): one frequency band and one time span per clip set to
    -50 dB (zero after the network's input scaling)."""
    out = batch.clone()
    _, _, n_mels, n_frames = out.shape
    for i in range(out.shape[0]):
        f = int(rng.integers(0, max(1, n_mels // 8) + 1))
        f0 = int(rng.integers(0, n_mels - f + 1))
        t = int(rng.integers(0, max(1, n_frames // 10) + 1))
        t0 = int(rng.integers(0, n_frames - t + 1))
        out[i, :, f0 : f0 + f, :] = -50.0
        out[i, :, :, t0 : t0 + t] = -50.0
    return out


class CNNSound:
    """Trained for ``params["seconds"]`` the first time (the search), which fixes the epoch
    count every refit then uses."""

    inputs = ("log_mel",)

    def __init__(self, data: SoundData, params: dict[str, Any], rows: np.ndarray, budget: Budget,
                 init_state: Any = None) -> None:
        import torch

        assert data.log_mel is not None
        torch.manual_seed(data.seed)
        torch.set_num_threads(data.threads)
        self.data = data
        acc = data.accelerator
        net, with_softmax = _cnn(data.n_classes)
        if init_state is not None:
            net.load_state_dict(init_state)
        net.to(acc.device)
        opt = torch.optim.AdamW(net.parameters(), lr=2e-3 if init_state is None else 5e-4, weight_decay=1e-4)
        scaler = acc.scaler()
        xt, yt = torch.from_numpy(data.log_mel), torch.from_numpy(data.y)
        rng = np.random.default_rng(data.seed)
        epochs = params.get("epochs")
        stop_at = min(budget.work_deadline, budget.now() + float(params.get("seconds", 0.0)))
        done = 0
        cap = int(params.get("max_epochs") or 10**6)
        while (done < epochs) if epochs else (done == 0 or (budget.now() < stop_at and done < cap)):
            net.train()
            order = rng.permutation(rows)
            size = acc.batch(16)
            for start in range(0, len(order), size):
                batch = order[start : start + size]
                if len(batch) < 2:
                    continue  # BatchNorm needs two samples
                xb, yb = _spec_augment(xt[batch], rng).to(acc.device), yt[batch].to(acc.device)
                acc.step(opt, scaler, lambda: torch.nn.functional.cross_entropy(net(xb), yb))  # noqa: B023
            done += 1
            if budget.now() >= (budget.deadline if epochs else budget.work_deadline):
                break  # a refit (fixed epochs) runs in the export reserve, after the search
        if not epochs:
            params["epochs"] = done  # the search's fit decides; refits repeat it
        self.epochs = done
        net.cpu()  # statistics, scores and export in float32 on the CPU (accelerator)
        _recompute_batchnorm(net, xt[rows])
        self.net = net
        self.model = with_softmax(net).eval()

    def predict(self, rows: np.ndarray) -> np.ndarray:
        import torch

        with torch.no_grad():
            return self.model(torch.from_numpy(self.data.log_mel[rows])).numpy().astype(np.float64)

    def onnx(self, inputs):
        import onnx
        import torch

        buf = io.BytesIO()
        torch.onnx.export(
            self.model, (torch.from_numpy(self.data.log_mel[:1]),), buf, input_names=["log_mel"],
            output_names=["probabilities"], dynamic_axes={"log_mel": {0: "batch"}, "probabilities": {0: "batch"}},
            opset_version=OPSET, dynamo=False,
        )
        return with_inputs(onnx.load_from_string(buf.getvalue()), inputs)


def _recompute_batchnorm(net, x) -> None:
    """Batch-norm statistics re-estimated on the (unaugmented) training clips: a net trained
    for a few epochs otherwise evaluates with running averages of its early batches."""
    import torch

    bns = [m for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None  # cumulative average
    net.train()
    with torch.no_grad():
        for start in range(0, len(x), 64):
            if len(x[start : start + 64]) > 1:
                net(x[start : start + 64])
    net.eval()

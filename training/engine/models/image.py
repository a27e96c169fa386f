"""Image classification candidates for the shared AutoML search, each exportable to one ONNX
graph that answers what its Python model answers (probabilities within 1e-5).

Every graph takes the same input, ``to_input`` of the image squashed to S x S with no
normalisation (0..1 RGB), and outputs ``probabilities``: so any of them, or a weighted blend
of them (onnx_blend), serves through one predictor with one preprocessing. What differs per
family happens inside the graph:

- ``pixel``: logistic regression on block means of the raw pixels (grid x grid, gray or RGB);
  wins on tiny, low-resolution or grayscale images (digits) where ImageNet features do not fit;
- ``embed``: logistic regression on frozen ImageNet EfficientNet-Lite0 embeddings;
- ``finetune``: EfficientNet-Lite0 fine-tuned end to end, with or without horizontal flips
  (the validation score decides: a flip can turn one digit into another).
"""

from __future__ import annotations

import io
import random
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from training.engine.accelerator import CPU, Accelerator, seed_worker
from training.engine.budget import Budget
from training.engine.models.efficientnet import efficientnet, load_base_weights
from training.engine.models.onnx_rows import run_rows
from training.engine.preprocessing.augment import random_view
from training.engine.preprocessing.image import pixel_features_u8, to_input
from training.engine.preprocessing.pixel_cache import in_batches

OUTPUT = "probabilities"
INPUT = "input"
ZERO = (0.0, 0.0, 0.0)
ONE = (1.0, 1.0, 1.0)
OPSET = 17


@dataclass
class ImageData:
    """Every image of the run, squashed once: rows are positions into these arrays. ``pixels``
    may be a memory map (preprocessing/pixel_cache): every float computation below runs a
    batch of rows at a time, so memory stays flat however many images the run has."""

    pixels: np.ndarray  # uint8 [n, S, S, 3]
    y: np.ndarray  # class index per row
    n_classes: int
    seed: int = 0
    threads: int = 1
    accelerator: Accelerator = CPU  # where the fine-tunes train
    # Measured seconds per image: decoding + squashing it once (the cache), and one pass of
    # the Lite0 backbone (the embeddings); what the search reserves its ending by.
    decode_seconds: float = 0.0
    backbone_seconds: float | None = None
    # Incremental training: rows whose Lite0 embeddings the base version kept (by the image's
    # bytes; training/engine/item_features.py), not recomputed.
    known_embeddings: dict[int, np.ndarray] = field(default_factory=dict, repr=False)
    _embeddings: np.ndarray | None = field(default=None, repr=False)
    _pixel_features: dict[tuple[int, bool], np.ndarray] = field(default_factory=dict, repr=False)

    @property
    def size(self) -> int:
        return int(self.pixels.shape[1])

    def inputs(self, rows: np.ndarray) -> np.ndarray:
        """The ONNX input of these rows (float32 [n, 3, S, S], 0..1)."""
        return to_input(self.pixels[np.asarray(rows)], mean=ZERO, std=ONE)

    def pixel_features(self, rows: np.ndarray, *, grid: int, gray: bool) -> np.ndarray:
        """The pixel model's features of these rows; every row's are computed once per
        (grid, gray), in batches, and shared by the candidates and folds that use them."""
        key = (grid, gray)
        if key not in self._pixel_features:
            self._pixel_features[key] = np.concatenate([
                pixel_features_u8(self.pixels[batch], grid=grid, gray=gray)
                for batch in in_batches(np.arange(len(self.pixels)))
            ])
        return self._pixel_features[key][np.asarray(rows)]

    def embeddings(self) -> np.ndarray:
        """Lite0 embeddings of every row, computed once per run by onnxruntime running the
        exported backbone (the same kernels as the served graph: exact export); the rows in
        ``known_embeddings`` are taken from there."""
        if self._embeddings is None:
            todo = self.missing_embeddings()
            out = np.zeros((len(self.pixels), 0), dtype=np.float32)
            if len(todo):
                import onnxruntime as ort

                opts = ort.SessionOptions()
                opts.intra_op_num_threads = max(1, self.threads)
                session = ort.InferenceSession(
                    export_torch(lite_embedder(), self.size).SerializeToString(), opts,
                    providers=["CPUExecutionProvider"],
                )
                started = time.monotonic()
                computed = np.concatenate([
                    session.run(None, {INPUT: self.inputs(todo[i:i + 16])})[0] for i in range(0, len(todo), 16)
                ])
                self.backbone_seconds = (time.monotonic() - started) / max(1, len(todo))
                out = np.zeros((len(self.pixels), computed.shape[1]), dtype=np.float32)
                out[todo] = computed
            for row, vec in self.known_embeddings.items():
                if out.shape[1] == 0:
                    out = np.zeros((len(self.pixels), len(vec)), dtype=np.float32)
                out[row] = vec
            self._embeddings = out.astype(np.float64)
        return self._embeddings

    def missing_embeddings(self) -> np.ndarray:
        """The rows whose embeddings must be computed (not known from a base version)."""
        return np.asarray([i for i in range(len(self.pixels)) if i not in self.known_embeddings], dtype=np.int64)


def softmax64(z: np.ndarray) -> np.ndarray:
    z = np.asarray(z, dtype=np.float64)
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _fit_linear(x: np.ndarray, y: np.ndarray, n_classes: int, c: float, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Standardise + multinomial logistic regression -> (mean, scale, W [k, d], b [k]) such that
    softmax(((x - mean) / scale) @ W.T + b) are the probabilities of every class (a class
    absent from ``y`` gets a -inf-like bias, so it is never predicted)."""
    from sklearn.linear_model import LogisticRegression

    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale = np.where(scale < 1e-6, 1.0, scale)
    z = (x - mean) / scale
    present = np.unique(y)
    w = np.zeros((n_classes, x.shape[1]))
    b = np.full(n_classes, -30.0)
    if len(present) == 1:
        b[present[0]] = 0.0
        return mean, scale, w, b
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning on tiny sets: the budget rules
        lr = LogisticRegression(C=c, max_iter=500, random_state=seed).fit(z, y)
    coef, icpt = lr.coef_, lr.intercept_
    if len(present) == 2:  # sklearn's binary form: p1 = sigmoid(z) = softmax([0, z])
        coef = np.vstack([np.zeros_like(coef), coef])
        icpt = np.concatenate([[0.0], icpt])
    for row, cls in enumerate(lr.classes_):
        w[cls], b[cls] = coef[row], icpt[row]
    return mean, scale, w, b


# ----------------------------------------------------------------------------- pixel model


class PixelModel:
    family = "pixel"

    def __init__(self, data: ImageData, *, grid: int, gray: bool, c: float) -> None:
        self.data, self.grid, self.gray, self.c = data, grid, gray, c

    def features(self, rows: np.ndarray) -> np.ndarray:
        return self.data.pixel_features(rows, grid=self.grid, gray=self.gray)

    def fit(self, rows: np.ndarray) -> PixelModel:
        self.mean, self.scale, self.w, self.b = _fit_linear(
            self.features(rows), self.data.y[rows], self.data.n_classes, self.c, self.data.seed
        )
        return self

    def predict(self, rows: np.ndarray) -> np.ndarray:
        return softmax64(((self.features(rows) - self.mean) / self.scale) @ self.w.T + self.b)

    def onnx(self) -> Any:
        """AveragePool (grid) -> [ReduceMean over channels] -> Flatten -> standardise -> linear -> Softmax."""
        import onnx
        from onnx import TensorProto, helper, numpy_helper

        size = self.data.size
        k = size // self.grid
        f32 = np.float32
        inits = [
            numpy_helper.from_array(self.mean.astype(f32), "mean"),
            numpy_helper.from_array((1.0 / self.scale).astype(f32), "inv_scale"),
            numpy_helper.from_array(self.w.T.astype(f32), "weight"),
            numpy_helper.from_array(self.b.astype(f32), "bias"),
        ]
        nodes = []
        src = INPUT
        if self.grid * k != size:  # block means over the top-left grid*k pixels, as numpy does
            inits += [
                numpy_helper.from_array(np.array([0, 0], dtype=np.int64), "crop_start"),
                numpy_helper.from_array(np.array([self.grid * k] * 2, dtype=np.int64), "crop_end"),
                numpy_helper.from_array(np.array([2, 3], dtype=np.int64), "crop_axes"),
            ]
            nodes.append(helper.make_node("Slice", [INPUT, "crop_start", "crop_end", "crop_axes"], ["cropped"]))
            src = "cropped"
        nodes.append(helper.make_node("AveragePool", [src], ["pooled"], kernel_shape=[k, k], strides=[k, k]))
        src = "pooled"
        if self.gray:
            nodes.append(helper.make_node("ReduceMean", [src], ["gray"], axes=[1], keepdims=1))
            src = "gray"
        nodes += [
            helper.make_node("Flatten", [src], ["flat"], axis=1),
            helper.make_node("Sub", ["flat", "mean"], ["centred"]),
            helper.make_node("Mul", ["centred", "inv_scale"], ["standard"]),
            helper.make_node("MatMul", ["standard", "weight"], ["linear"]),
            helper.make_node("Add", ["linear", "bias"], ["logits"]),
            helper.make_node("Softmax", ["logits"], [OUTPUT], axis=1),
        ]
        graph = helper.make_graph(
            nodes,
            "pixel_logreg",
            [helper.make_tensor_value_info(INPUT, TensorProto.FLOAT, ["batch", 3, size, size])],
            [helper.make_tensor_value_info(OUTPUT, TensorProto.FLOAT, ["batch", self.data.n_classes])],
            initializer=inits,
        )
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
        model.ir_version = 8
        onnx.checker.check_model(model)
        return model


# ----------------------------------------------------------------------------- Lite0 parts


def lite_net(pretrained: bool = True) -> Any:
    return efficientnet("efficientnet-lite0", pretrained=pretrained)


def _torch_modules() -> Any:
    import torch
    from torch import nn

    class LiteEmbed(nn.Module):
        """0..1 RGB -> Lite0's pooled 1280-d ImageNet features (normalisation in the graph)."""

        def __init__(self, net: Any) -> None:
            super().__init__()
            self.net = net

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            # Lite was trained on (x - 127) / 128: mean = std = 0.5 on 0..1 input.
            features = self.net.extract_features((x - 0.5) / 0.5)
            return self.net._avg_pooling(features).flatten(1)

    class EmbedHead(nn.Module):
        def __init__(self, embed: nn.Module, mean: np.ndarray, scale: np.ndarray, w: np.ndarray, b: np.ndarray) -> None:
            super().__init__()
            self.embed = embed
            self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32))
            self.register_buffer("inv_scale", torch.tensor(1.0 / scale, dtype=torch.float32))
            self.linear = nn.Linear(w.shape[1], w.shape[0])
            with torch.no_grad():
                self.linear.weight.copy_(torch.tensor(w, dtype=torch.float32))
                self.linear.bias.copy_(torch.tensor(b, dtype=torch.float32))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.softmax(self.linear((self.embed(x) - self.mean) * self.inv_scale), dim=1)

    class Classifier(nn.Module):
        """0..1 RGB -> softmax of the fine-tuned Lite0."""

        def __init__(self, net: Any) -> None:
            super().__init__()
            self.net = net

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.softmax(self.net((x - 0.5) / 0.5), dim=1)

    return LiteEmbed, EmbedHead, Classifier


def lite_embedder() -> Any:
    embed_cls, _, _ = _torch_modules()
    return embed_cls(lite_net()).eval()


def export_torch(module: Any, size: int) -> Any:
    """A torch module (0..1 input -> probabilities) as an in-memory ONNX ModelProto."""
    import onnx
    import torch

    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # dynamo=False: the dynamo exporter needs onnxscript and writes external .data files.
        torch.onnx.export(
            module.eval(),
            torch.zeros(1, 3, size, size),
            buf,
            dynamo=False,
            opset_version=OPSET,
            input_names=[INPUT],
            output_names=[OUTPUT],
            dynamic_axes={INPUT: {0: "batch"}, OUTPUT: {0: "batch"}},
        )
    return onnx.load_from_string(buf.getvalue())


class EmbedModel:
    family = "embed"

    def __init__(self, data: ImageData, *, c: float) -> None:
        self.data, self.c = data, c

    def fit(self, rows: np.ndarray) -> EmbedModel:
        x = self.data.embeddings()[rows]
        self.mean, self.scale, self.w, self.b = _fit_linear(x, self.data.y[rows], self.data.n_classes, self.c, self.data.seed)
        return self

    def predict(self, rows: np.ndarray) -> np.ndarray:
        return softmax64(((self.data.embeddings()[rows] - self.mean) / self.scale) @ self.w.T + self.b)

    def onnx(self) -> Any:
        embed_cls, head_cls, _ = _torch_modules()
        return export_torch(head_cls(embed_cls(lite_net()), self.mean, self.scale, self.w, self.b), self.data.size)


# ----------------------------------------------------------------------------- fine-tuning


@dataclass
class FineTunePlan:
    """Shared by one candidate's fits: the search's fit measures the epochs that fit its time
    share; refits (evaluated and served model) train that many epochs again."""

    flip: bool
    share: float = 0.35  # of the budget left, for the search's fit
    max_epochs: int = 30
    epochs: int | None = None
    # A heartbeat between batches (raises StopTraining when the user stopped the version).
    beat: Any = None
    # Incremental training: the base version's bundle whose fine-tuned Lite0 weights this
    # candidate starts from (head rows of the labels both versions have), and this run's labels.
    init_from: str | None = None
    labels: tuple[str, ...] = ()


class FineTuneModel:
    family = "finetune"

    def __init__(self, data: ImageData, plan: FineTunePlan) -> None:
        self.data, self.plan = data, plan

    def _augment(self, arr: np.ndarray, rng: random.Random) -> np.ndarray:
        from PIL import Image

        # Images already at the training size: the crop goes back to it; milder than the
        # single-model fine-tune's (at least 70 % of the area, ±15 % light).
        img = random_view(Image.fromarray(arr), rng, min_area=0.7, jitter=0.15, flip=self.plan.flip, keep_size=True)
        return np.asarray(img, dtype=np.uint8)

    def fit(self, rows: np.ndarray, budget: Budget) -> FineTuneModel:
        import torch

        _, _, classifier_cls = _torch_modules()
        acc = self.data.accelerator
        torch.manual_seed(self.data.seed)
        rng = random.Random(self.data.seed)
        net = lite_net()
        net._fc = torch.nn.Linear(net._fc.in_features, self.data.n_classes)
        if self.plan.init_from:
            load_base_weights(net, Path(self.plan.init_from), list(self.plan.labels))
        model = classifier_cls(net).to(acc.device)
        first = self.plan.epochs is None
        # Refits get what the search's fit used (scaled by rows), capped by what is left.
        seconds = budget.left() * (self.plan.share if first else 0.45)
        end = time.monotonic() + seconds
        epochs = self.plan.max_epochs if first else max(1, self.plan.epochs or 1)
        head = list(net._fc.parameters())
        head_ids = {id(p) for p in head}
        optimizer = torch.optim.AdamW(
            [{"params": [p for p in net.parameters() if id(p) not in head_ids], "lr": 1e-3},
             {"params": head, "lr": 5e-3}],
            weight_decay=1e-4,
        )
        loss_fn = torch.nn.CrossEntropyLoss(label_smoothing=0.1)
        y = torch.from_numpy(self.data.y[rows].astype(np.int64))
        scaler = acc.scaler()
        done = 0
        last_beat = time.monotonic()
        for _epoch in range(epochs):
            model.train()
            order = rng.sample(range(len(rows)), len(rows))
            for idx, x in self._batches(rows, order, acc.batch(16), rng):
                x, target = x.to(acc.device, non_blocking=acc.pin_memory), y[idx].to(acc.device)
                acc.step(optimizer, scaler, lambda: loss_fn(net((x - 0.5) / 0.5), target))  # noqa: B023
                if self.plan.beat is not None and time.monotonic() - last_beat > 2.0:
                    self.plan.beat()
                    last_beat = time.monotonic()
            done += 1
            if time.monotonic() > end or budget.exhausted():
                break
        if first:
            self.plan.epochs = done
        self.epochs = done
        # Scores and export in float32 on the CPU, whatever the training ran on (accelerator).
        self.model = model.eval().cpu()
        return self

    def _batches(self, rows: np.ndarray, order: list[int], batch: int, rng: random.Random):
        """(positions into ``rows``, augmented float32 inputs) per batch of ``order``; a batch of
        one is skipped (BatchNorm in train mode needs two). With loader workers (the GPU
        profile) the views are drawn in worker processes while the device trains."""
        batches = [order[i : i + batch] for i in range(0, len(order), batch) if len(order[i : i + batch]) >= 2]
        acc = self.data.accelerator
        if acc.loader_workers == 0:
            for idx in batches:
                arrays = np.stack([self._augment(self.data.pixels[rows[j]], rng) for j in idx])
                yield idx, torch_input(arrays)
            return
        import torch

        views = _Views(self, rows, rng.random())
        loader = torch.utils.data.DataLoader(
            views, batch_sampler=batches, num_workers=acc.loader_workers, pin_memory=acc.pin_memory,
            worker_init_fn=seed_worker,
        )
        yield from zip(batches, loader, strict=True)

    def predict(self, rows: np.ndarray) -> np.ndarray:
        import torch

        out = []
        with torch.no_grad():
            for i in range(0, len(rows), 32):
                out.append(self.model(torch.from_numpy(self.data.inputs(rows[i : i + 32]))).numpy())
        return np.concatenate(out).astype(np.float64)

    def onnx(self) -> Any:
        return export_torch(self.model, self.data.size)


class _Views:
    """Augmented views of a fine-tune's rows, for a DataLoader's workers (each reseeds ``rng``)."""

    def __init__(self, model: FineTuneModel, rows: np.ndarray, seed: float) -> None:
        self.model, self.rows, self.rng = model, rows, random.Random(seed)

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, j: int) -> Any:
        view = self.model._augment(self.model.data.pixels[self.rows[j]], self.rng)
        return torch_input(view[None])[0]


def torch_input(arrays: np.ndarray) -> Any:
    import torch

    return torch.from_numpy(to_input(arrays, mean=ZERO, std=ONE))


# ----------------------------------------------------------------------------- ONNX helpers


def onnx_probabilities(model: Any, x: np.ndarray, *, threads: int = 1) -> np.ndarray:
    """Row by row, as serving runs them (batch-1 numerics)."""
    return run_rows(model, x, input_name=INPUT, threads=threads).astype(np.float64)

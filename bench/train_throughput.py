"""Training throughput (issue 29, P3): the product's training loops against a plain PyTorch loop.

For each path the product's own training code runs on generated data for a fixed number of
epochs, and only its training loop is timed (data generation, decoding/caching, evaluation
and export are not):

- ``search``: the image search's ``FineTuneModel.fit`` (models/image.py) at 224 px, batch 16,
  PIL augmentation in the main thread (``random_view``) and ``to_input`` per batch;
- ``finetune``: the single-model ``FineTune`` (trainers/image_finetune.py, multi-label and
  incremental training) at the CPU recipe's size (balance: Lite0, 128 px, batch 16), a
  DataLoader over ``AugmentedSet`` (num_workers=0); its own ``images_seen / loop_seconds``;
- ``sound``: the log-mel CNN (``CNNSound`` in models/sound.py), batch 16, SpecAugment per batch.

Beside each, in the same process and thread count, a plain loop: the same network, batch
size, optimizer and loss over PRE-MADE input tensors (contiguous slices, no augmentation, no
data loading). The two are alternated (product, plain, product, plain, ...) and the medians
of the repeats compared; the goal is product >= 90 % of plain. Then, per path, the per-batch
cost of the data side (augmentation, conversion, DataLoader) is measured on its own, so a
gap can be attributed. It measures the CPU profile (training/engine/accelerator.py: float32, the
CPU batch, no loader workers), the one a CPU worker trains with.

    # 5 repeats; 3 min of CPU: 8.7 min wall at load average 8-12 on 2 cores, less when quiet
    nice -n 5 .venv/bin/python -m bench.train_throughput
    .venv/bin/python -m bench.train_throughput --paths sound --repeats 5
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from training.engine.trainers.common import setup_threads

GOAL = 0.90
BATCH = 16  # every path's batch on CPU (FineTuneModel, the FineTune recipe, CNNSound)
DATA_SIDE = "data side per batch"


def _noop(*_a: Any, **_k: Any) -> None:
    return None


def _median(xs: list[float]) -> float:
    return float(statistics.median(xs))


class Clock:
    """Marks set by thin wrappers around the product's module functions, so that only the
    training loop of a ``fit`` is timed: ``start`` when the network has been built, ``end`` when
    the loop hands over to what follows it (or when ``fit`` returns)."""

    def __init__(self) -> None:
        self.start = 0.0
        self.end = 0.0

    def wrap_start(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        def wrapped(*a: Any, **k: Any) -> Any:
            out = fn(*a, **k)
            self.start = time.perf_counter()
            return out

        return wrapped

    def wrap_end(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        def wrapped(*a: Any, **k: Any) -> Any:
            self.end = time.perf_counter()
            return fn(*a, **k)

        return wrapped


# ----------------------------------------------------------------------------- the plain loop


def plain_loop(
    net: Any,
    params: Any,
    batches: list[tuple[Any, Any]],
    epochs: int,
    loss_fn: Callable,
    prep: Callable[[Any], Any] = lambda x: x,
) -> float:
    """Seconds of ``epochs`` passes over pre-made (x, y) batches: forward, loss, backward, step."""
    import torch

    optimizer = torch.optim.AdamW(params, weight_decay=1e-4)
    t0 = time.perf_counter()
    for _ in range(epochs):
        net.train()
        for x, y in batches:
            loss = loss_fn(net(prep(x)), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    return time.perf_counter() - t0


def head_groups(net: Any, lr: float, head_lr: float) -> list[dict[str, Any]]:
    """The fine-tunes' two parameter groups (backbone, head at a higher rate)."""
    head = list(net._fc.parameters())
    ids = {id(p) for p in head}
    return [
        {"params": [p for p in net.parameters() if id(p) not in ids], "lr": lr},
        {"params": head, "lr": head_lr},
    ]


def slices(x: Any, y: Any, batch: int) -> list[tuple[Any, Any]]:
    return [
        (x[i : i + batch], y[i : i + batch]) for i in range(0, len(x), batch) if len(x[i : i + batch]) > 1
    ]


# ----------------------------------------------------------------------------- paths


class SearchPath:
    """(a) The image search's FineTuneModel at 224 px (refit mode: a fixed epoch count)."""

    name = "search FineTuneModel"

    def __init__(self, n: int, epochs: int, threads: int, workdir: Path) -> None:
        import torch

        from tests.trainers.vision_data import classification_samples
        from training.engine.models.image import ONE, ZERO, ImageData
        from training.engine.preprocessing.image import to_input
        from training.engine.preprocessing.pixel_cache import cache_pixels

        self.size, self.epochs, self.threads = 224, epochs, threads
        labels = ("circle", "square", "triangle")
        samples = classification_samples(
            workdir / "search", labels=labels, per_label_train=-(-n // 3), per_label_eval=0, size=256
        )[:n]
        pixels = np.asarray(cache_pixels([s.path for s in samples], self.size, workdir / "search-cache"))
        y = np.array([labels.index(s.labels[0]) for s in samples])
        self.data = ImageData(pixels=pixels, y=y, n_classes=len(labels), seed=0, threads=threads)
        self.rows = np.arange(len(y))
        x = torch.from_numpy(to_input(pixels, mean=ZERO, std=ONE))
        self.batches = slices(x, torch.from_numpy(y.astype(np.int64)), BATCH)

    def product(self) -> float:
        from training.engine.budget import Budget
        from training.engine.models import image as image_mod

        clock = Clock()
        original = image_mod.lite_net
        image_mod.lite_net = clock.wrap_start(original)
        try:
            plan = image_mod.FineTunePlan(flip=True, epochs=self.epochs)
            model = image_mod.FineTuneModel(self.data, plan).fit(self.rows, Budget(time.monotonic() + 3600.0))
            clock.end = time.perf_counter()
        finally:
            image_mod.lite_net = original
        assert model.epochs == self.epochs
        return self.images() / (clock.end - clock.start)

    def images(self) -> int:
        n = len(self.rows)
        return self.epochs * (n - (n % BATCH if n % BATCH == 1 else 0))

    def plain(self) -> float:
        import torch

        from training.engine.models.image import lite_net

        net = lite_net()
        net._fc = torch.nn.Linear(net._fc.in_features, self.data.n_classes)
        loss = torch.nn.CrossEntropyLoss(label_smoothing=0.1)
        seconds = plain_loop(
            net, head_groups(net, 1e-3, 5e-3), self.batches, self.epochs, loss, prep=lambda x: (x - 0.5) / 0.5
        )
        return self.images() / seconds

    def breakdown(self, repeats: int = 3) -> dict[str, float]:
        """ms per batch of the search's data side: augmentation (PIL, 16 images), to_input."""
        from training.engine.models.image import ONE, ZERO, FineTuneModel, FineTunePlan
        from training.engine.preprocessing.image import to_input

        model = FineTuneModel(self.data, FineTunePlan(flip=True))
        rng = random.Random(0)
        aug, conv = [], []
        for i in range(repeats * 4):
            idx = [(i * BATCH + j) % len(self.rows) for j in range(BATCH)]
            t0 = time.perf_counter()
            arrays = np.stack([model._augment(self.data.pixels[j], rng) for j in idx])
            t1 = time.perf_counter()
            to_input(arrays, mean=ZERO, std=ONE)
            t2 = time.perf_counter()
            aug.append(t1 - t0)
            conv.append(t2 - t1)
        out = {"augmentation (random_view x16)": 1e3 * _median(aug), "to_input": 1e3 * _median(conv)}
        return {**out, DATA_SIDE: sum(out.values())}


class FineTunePath:
    """(b) The single-model FineTune (multi-label) at the CPU recipe's size."""

    name = "single FineTune"

    def __init__(self, n: int, epochs: int, threads: int, workdir: Path) -> None:
        import torch

        from tests.trainers.vision_data import classification_samples
        from training.engine.spec import TrainSpec

        self.epochs, self.threads, self.workdir = epochs, threads, workdir
        self.labels = ("circle", "square", "triangle")
        per = -(-n // 3)
        samples = classification_samples(
            workdir / "finetune",
            labels=self.labels,
            per_label_train=per,
            per_label_eval=2,
            size=160,
            multilabel=True,
        )
        train = [s for s in samples if s.usage == "train"][:n]
        evals = [s for s in samples if s.usage == "eval"]
        self.spec = TrainSpec(
            task_type="image_classification",
            labels=self.labels,
            samples=tuple(train + evals),
            threads=threads,
            preference="balance",
            params={"max_epochs": epochs, "multilabel": True},
        )
        ft = self._trainer()
        ft.prepare(workdir / "finetune-cache")
        self.size, self.batch = ft.size, ft.batch_size
        # The plain side: the same network, loss (with its pos_weight) and batches, pre-made.
        from PIL import Image

        from training.engine.preprocessing.image import resize_square, to_input
        from training.engine.trainers.image import MEAN, STD

        pixels = np.asarray(ft.loader.dataset.images)
        squashed = np.stack([resize_square(Image.fromarray(p), size=self.size) for p in pixels])
        x = torch.from_numpy(to_input(squashed, mean=MEAN, std=STD))
        y = torch.from_numpy(np.asarray(ft.loader.dataset.targets))
        self.criterion = ft.criterion
        self.batches = slices(x, y, self.batch)
        if ft.loader.drop_last:
            self.batches = self.batches[: len(ft.loader)]
        self.model_name = ft.model_name
        self.loader, self.dataset = ft.loader, ft.loader.dataset
        self.ft = ft

    def _trainer(self) -> Any:
        from training.engine.trainers.image_finetune import FineTune

        return FineTune(self.spec, time.monotonic() + 3600.0, _noop, [])

    def product(self) -> float:
        ft = self._trainer()
        ft.prepare(self.workdir / "finetune-cache")  # decoding + the new network: not timed
        ft.train()
        assert ft.epoch == self.epochs, ft.log
        return ft.images_seen / ft.loop_seconds

    def plain(self) -> float:
        from training.engine.trainers.image import build_model

        net = build_model(self.model_name, len(self.labels), pretrained=True)
        lr = float(self.ft.lr)
        seconds = plain_loop(net, head_groups(net, lr, 5 * lr), self.batches, self.epochs, self.criterion)
        return self.epochs * sum(len(x) for x, _ in self.batches) / seconds

    def breakdown(self, repeats: int = 3) -> dict[str, float]:
        """ms per batch: random_view alone, classification_input (resize + to_input) alone, the
        whole DataLoader batch (both, per image, plus sampling and collate)."""
        from PIL import Image

        from training.engine.preprocessing.augment import random_view
        from training.engine.preprocessing.image import classification_input

        ds, rng = self.dataset, random.Random(0)
        view, conv = [], []
        for i in range(repeats * 4):
            tv = tc = 0.0
            for j in range(self.batch):
                arr = np.asarray(ds.images[(i * self.batch + j) % len(ds)])
                t0 = time.perf_counter()
                img = random_view(Image.fromarray(arr), rng, min_area=0.6, jitter=0.2)
                t1 = time.perf_counter()
                classification_input(img, size=ds.size, mean=ds.mean, std=ds.std)
                t2 = time.perf_counter()
                tv += t1 - t0
                tc += t2 - t1
            view.append(tv)
            conv.append(tc)
        loader = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            count = sum(1 for _ in self.loader)
            loader.append((time.perf_counter() - t0) / count)
        out = {
            "augmentation (random_view x16)": 1e3 * _median(view),
            "classification_input x16 (resize + to_input)": 1e3 * _median(conv),
            "DataLoader batch (all of it)": 1e3 * _median(loader),
        }
        out["DataLoader overhead (sampler + collate)"] = (
            out["DataLoader batch (all of it)"]
            - out["augmentation (random_view x16)"]
            - out["classification_input x16 (resize + to_input)"]
        )
        return {**out, DATA_SIDE: out["DataLoader batch (all of it)"]}


class SoundPath:
    """(c) The log-mel CNN with SpecAugment (CNNSound), fixed epochs."""

    name = "sound CNNSound"

    def __init__(self, n: int, epochs: int, threads: int, workdir: Path) -> None:
        import torch

        from tests.trainers.ml_data import SOUND_LABELS, sound_samples
        from training.engine.models.sound import SoundData
        from training.engine.preprocessing import audio as audioprep

        self.epochs, self.threads = epochs, threads
        samples = sound_samples(workdir / "sound", per_class=-(-n // 3))[:n]
        config = {**audioprep.DEFAULT_CONFIG, "features": "log_mel"}
        mel = np.stack([audioprep.features_from_wav(Path(s.path).read_bytes(), config) for s in samples])
        y = np.array([SOUND_LABELS.index(s.labels[0]) for s in samples], dtype=np.int64)
        self.data = SoundData(
            np.zeros((len(y), 1), np.float32),
            mel.astype(np.float32),
            y,
            len(SOUND_LABELS),
            seed=0,
            threads=threads,
        )
        self.rows = np.arange(len(y))
        self.size = "x".join(str(d) for d in mel.shape[1:])
        self.batches = slices(torch.from_numpy(self.data.log_mel), torch.from_numpy(y), BATCH)

    def samples(self) -> int:
        n = len(self.rows)
        return self.epochs * (n - (n % BATCH if n % BATCH == 1 else 0))

    def product(self) -> float:
        from training.engine.budget import Budget
        from training.engine.models import sound as sound_mod

        clock = Clock()
        originals = sound_mod._cnn, sound_mod._recompute_batchnorm
        sound_mod._cnn = clock.wrap_start(originals[0])
        sound_mod._recompute_batchnorm = clock.wrap_end(originals[1])
        try:
            model = sound_mod.CNNSound(
                self.data, {"epochs": self.epochs}, self.rows, Budget(time.monotonic() + 3600.0)
            )
        finally:
            sound_mod._cnn, sound_mod._recompute_batchnorm = originals
        assert model.epochs == self.epochs
        return self.samples() / (clock.end - clock.start)

    def plain(self) -> float:
        import torch

        from training.engine.models.sound import _cnn

        net, _ = _cnn(self.data.n_classes)
        optimizer_params = [{"params": list(net.parameters()), "lr": 2e-3}]
        seconds = plain_loop(
            net, optimizer_params, self.batches, self.epochs, torch.nn.functional.cross_entropy
        )
        return self.samples() / seconds

    def breakdown(self, repeats: int = 3) -> dict[str, float]:
        """ms per batch: the row gather (xt[batch]) and SpecAugment."""
        import torch

        from training.engine.models.sound import _spec_augment

        xt, rng = torch.from_numpy(self.data.log_mel), np.random.default_rng(0)
        gather, aug = [], []
        for _ in range(repeats * 4):
            batch = rng.permutation(self.rows)[:BATCH]
            t0 = time.perf_counter()
            xb = xt[batch]
            t1 = time.perf_counter()
            _spec_augment(xb, rng)
            t2 = time.perf_counter()
            gather.append(t1 - t0)
            aug.append(t2 - t1)
        out = {
            "row gather xt[batch]": 1e3 * _median(gather),
            "SpecAugment (_spec_augment)": 1e3 * _median(aug),
        }
        return {**out, DATA_SIDE: sum(out.values())}


PATHS = {"search": SearchPath, "finetune": FineTunePath, "sound": SoundPath}


def warm_up(path: Any) -> None:
    """Two plain steps on the path's shapes (oneDNN primitives, allocator), shared by both sides."""
    saved = path.batches, path.epochs
    path.batches, path.epochs = path.batches[:2], 1
    try:
        path.plain()
    finally:
        path.batches, path.epochs = saved


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--paths", default="search,finetune,sound", help="comma-separated: " + ",".join(PATHS)
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=os.cpu_count() or 1,
        help="torch threads (the worker's EXEML_WORKER_THREADS default: the CPU count)",
    )
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--search-images", type=int, default=64)
    parser.add_argument("--search-epochs", type=int, default=1)
    parser.add_argument("--finetune-images", type=int, default=128)
    parser.add_argument("--finetune-epochs", type=int, default=1)
    parser.add_argument("--clips", type=int, default=320)
    parser.add_argument("--sound-epochs", type=int, default=1)
    args = parser.parse_args(argv)

    if os.environ.get("EXEML_TRAIN_PROFILE"):
        parser.error("unset EXEML_TRAIN_PROFILE: the plain loop is the CPU profile's (batch 16, float32)")
    threads = setup_threads(args.threads)  # before torch loads, as the trainers do
    import torch

    torch.set_num_threads(threads)
    sizes = {
        "search": (args.search_images, args.search_epochs),
        "finetune": (args.finetune_images, args.finetune_epochs),
        "sound": (args.clips, args.sound_epochs),
    }
    command = "python -m bench.train_throughput " + " ".join(argv if argv is not None else sys.argv[1:])
    load_before = os.getloadavg()
    started = time.monotonic()
    rows, details = [], []
    with tempfile.TemporaryDirectory(prefix="throughput-") as tmp:
        for key in [p.strip() for p in args.paths.split(",") if p.strip()]:
            n, epochs = sizes[key]
            t0 = time.monotonic()
            path = PATHS[key](n, epochs, threads, Path(tmp))
            setup_s = time.monotonic() - t0
            warm_up(path)
            product, plain = [], []
            for _ in range(args.repeats):
                product.append(path.product())
                plain.append(path.plain())
            prod_m, plain_m = _median(product), _median(plain)
            ratio = prod_m / plain_m
            batch = getattr(path, "batch", BATCH)
            rows.append((path.name, batch, path.size, threads, prod_m, plain_m, ratio))
            parts = path.breakdown()
            step_prod, step_plain = 1e3 * batch / prod_m, 1e3 * batch / plain_m
            details.append((path.name, n, epochs, setup_s, product, plain, step_prod, step_plain, parts))
            print(
                f"# {path.name}: product {[round(v, 1) for v in product]} plain {[round(v, 1) for v in plain]} "
                f"({time.monotonic() - t0:.0f} s)",
                file=sys.stderr,
                flush=True,
            )
    load_after = os.getloadavg()

    print(
        f"`{command}` ({datetime.now().strftime('%Y-%m-%d %H:%M')}, {time.monotonic() - started:.0f} s; "
        f"torch {torch.__version__}, {threads} threads, {os.cpu_count()} CPUs; load average "
        f"{load_before[0]:.2f} before, {load_after[0]:.2f} after)"
    )
    print(f"uptime: {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}")
    print()
    print("| path | batch | size | threads | product img/s | plain img/s | ratio | goal (>= 0.90) |")
    print("|---|---|---|---|---|---|---|---|")
    for name, batch, size, th, prod_m, plain_m, ratio in rows:
        unit = " (samples/s)" if name.startswith("sound") else ""
        print(
            f"| {name}{unit} | {batch} | {size} | {th} | {prod_m:.1f} | {plain_m:.1f} | {ratio:.3f} | "
            f"{'met' if ratio >= GOAL else 'MISSED'} |"
        )
    print()
    print("Where a batch's time goes (ms per batch; medians):")
    print()
    print(
        "| path | images x epochs | product step | plain step | gap | data side | expected ratio | "
        "data side, measured alone |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name, n, epochs, _setup, _p, _q, step_prod, step_plain, parts in details:
        data = parts.pop(DATA_SIDE)
        shown = "; ".join(f"{k} {v:.1f}" for k, v in parts.items())
        # What the product would reach if its only extra cost were the data side (load-robust:
        # the data side is timed alone, in many short pieces).
        expected = step_plain / (step_plain + data)
        print(
            f"| {name} | {n} x {epochs} | {step_prod:.1f} | {step_plain:.1f} | {step_prod - step_plain:.1f} | "
            f"{data:.1f} | {expected:.3f} | {shown} |"
        )
    print()
    print("Each repeat (product / plain, img/s):")
    for name, _n, _e, setup_s, product, plain, *_rest in details:
        pairs = ", ".join(f"{a:.1f}/{b:.1f}" for a, b in zip(product, plain, strict=True))
        pair = _median([a / b for a, b in zip(product, plain, strict=True)])
        print(
            f"- {name}: {pairs}; median of the pairs' ratios {pair:.3f} "
            f"(data generation + caching {setup_s:.0f} s, not timed)"
        )


if __name__ == "__main__":
    main()

"""Training a large image classification set on CPU: wall time against the budget, memory,
what the search could afford, and the EVAL accuracy (issue 24: 20,000 images within a
30-minute budget, without holding every image in memory).

The images are generated JPEGs of four shape classes on noisy backgrounds, 160-320 px
wide (a cost measurement, not a quality claim), written once to a folder outside the
repository and reused; 80 % train, 20 % EVAL. Each size trains in its own child process
with the engine's image trainer (the search: pixel and embedding baselines, fine-tuning when
the budget affords it). The parent samples the child's /proc status every 0.5 s:

- anonymous memory (RssAnon): what the process itself holds; the goal's figure;
- file-backed memory (RssFile): pages of the pixel cache (and of libraries) mapped in; the
  kernel drops these clean pages under pressure, so they are not the process's to keep;
- VmHWM: the kernel's peak RSS, both kinds together.

    python -m bench.image_scale                               # 2,000 and 20,000 images, 1800 s budget
    python -m bench.image_scale --images 2000 --budget 300
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import threading
import time
from pathlib import Path

import numpy as np

CLASSES = ("circle", "square", "triangle", "cross")


def write_images(folder: Path, n: int, seed: int = 0) -> list[tuple[str, str]]:
    """(path, label) of n generated JPEGs (reused when the folder already has them)."""
    from PIL import Image, ImageDraw

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        label = CLASSES[i % len(CLASSES)]
        path = folder / f"img{i:06d}_{label}.jpg"
        out.append((str(path), label))
        w, h = int(rng.integers(160, 321)), int(rng.integers(120, 241))
        if path.is_file():
            rng.integers(0, 256, 16)  # keep the stream where a fresh write would leave it
            continue
        base = rng.integers(40, 216, 3)
        noise = rng.normal(0, 28, (h, w, 3))
        img = Image.fromarray(np.clip(base + noise, 0, 255).astype(np.uint8))
        draw = ImageDraw.Draw(img)
        r = int(min(w, h) * rng.uniform(0.18, 0.4))
        cx, cy = int(rng.integers(r, w - r + 1)), int(rng.integers(r, h - r + 1))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        if label == "circle":
            draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=colour)
        elif label == "square":
            draw.rectangle((cx - r, cy - r, cx + r, cy + r), fill=colour)
        elif label == "triangle":
            draw.polygon([(cx, cy - r), (cx - r, cy + r), (cx + r, cy + r)], fill=colour)
        else:
            t = max(2, r // 3)
            draw.rectangle((cx - r, cy - t, cx + r, cy + t), fill=colour)
            draw.rectangle((cx - t, cy - r, cx + t, cy + r), fill=colour)
        img.save(path, quality=85)
    return out


def _spec(items: list[tuple[str, str]], budget: float, threads: int):
    from training.engine.spec import TrainSample, TrainSpec

    samples = tuple(
        TrainSample(id=f"s{i}", usage="eval" if i % 5 == 0 else "train", path=path, labels=(label,))
        for i, (path, label) in enumerate(items)
    )
    return TrainSpec(task_type="image_classification", labels=CLASSES, samples=samples, threads=threads,
                     max_seconds=budget, preference="balance")


def _train(items: list[tuple[str, str]], budget: float, threads: int, work: str, queue) -> None:
    from training.engine.trainers import get_trainer

    spec = _spec(items, budget, threads)
    started = time.monotonic()
    phases: dict[str, float] = {}

    def progress(phase: str, fraction: float, *args, **kwargs) -> None:
        phases.setdefault(phase, round(time.monotonic() - started, 1))

    try:
        result = get_trainer("image_classification").fit(spec, Path(work), started + budget, progress)
        wall = time.monotonic() - started
        search = result.evaluation.get("search", {})
        board = search.get("leaderboard", [])
        queue.put({
            "wall_s": round(wall, 1), "kept": wall <= budget * 1.05, "phases": phases,
            "accuracy": round(result.metrics.get("accuracy", float("nan")), 4),
            "served": list(search.get("selection", {}).get("weights", {})),
            "tried": [f"{r['name']}:{r['status']}" for r in board], "log": result.log,
        })
    except Exception as exc:  # noqa: BLE001 - a bench reports, it does not stop
        queue.put({"error": repr(exc), "wall_s": round(time.monotonic() - started, 1), "phases": phases})


def _status_kib(pid: int) -> dict[str, int]:
    out = {}
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                key, _, rest = line.partition(":")
                if key in ("VmHWM", "RssAnon", "RssFile", "VmRSS"):
                    out[key] = int(rest.split()[0])
    except OSError:
        pass
    return out


def _watch(pid: int, peaks: dict[str, int], stop: threading.Event) -> None:
    while not stop.is_set():
        for key, kib in _status_kib(pid).items():
            peaks[key] = max(peaks.get(key, 0), kib)
        stop.wait(0.5)


def run(n: int, budget: float, threads: int, folder: Path) -> dict:
    t0 = time.monotonic()
    items = write_images(folder / "images", n)
    made_s = time.monotonic() - t0
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    work = folder / f"work_{n}"
    proc = ctx.Process(target=_train, args=(items, budget, threads, str(work), queue))
    proc.start()
    peaks: dict[str, int] = {}
    stop = threading.Event()
    watcher = threading.Thread(target=_watch, args=(proc.pid, peaks, stop), daemon=True)
    watcher.start()
    res = queue.get()
    stop.set()
    proc.join()
    watcher.join()
    disk = sum(os.path.getsize(p) for p, _ in items)
    return {
        "images": n, "budget_s": budget, "threads": threads, "jpeg_mb": round(disk / 1e6), "generate_s": round(made_s, 1),
        "pixels_in_memory_would_be_mib": round(n * 224 * 224 * 3 / 2**20),
        "peak_anon_mib": round(peaks.get("RssAnon", 0) / 1024), "peak_file_mib": round(peaks.get("RssFile", 0) / 1024),
        "vm_hwm_mib": round(peaks.get("VmHWM", 0) / 1024), **res,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, nargs="*", default=[2_000, 20_000])
    ap.add_argument("--budget", type=float, default=1800.0)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--dir", default="/tmp/exeml_image_scale")
    args = ap.parse_args()
    folder = Path(args.dir)
    results = []
    for n in args.images:
        res = run(n, args.budget, args.threads, folder)
        results.append(res)
        print(json.dumps(res, indent=1), flush=True)
    print(f"\n{'images':>7} {'budget':>6} {'wall s':>7} {'kept':>5} {'anon MiB':>8} {'file MiB':>8} {'HWM MiB':>8} "
          f"{'in-RAM px MiB':>13} {'acc':>6}  served")
    for r in results:
        if "error" in r:
            print(f"{r['images']:>7} error {r['error']} (anon peak {r['peak_anon_mib']} MiB)")
            continue
        print(f"{r['images']:>7} {r['budget_s']:>6.0f} {r['wall_s']:>7} {str(r['kept']):>5} {r['peak_anon_mib']:>8} "
              f"{r['peak_file_mib']:>8} {r['vm_hwm_mib']:>8} {r['pixels_in_memory_would_be_mib']:>13} "
              f"{r['accuracy']:>6}  {'+'.join(r['served'])}")


if __name__ == "__main__":
    main()

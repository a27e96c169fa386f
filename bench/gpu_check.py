"""The GPU check (issue 29, item 4): one prepared script for the day a device is lent.

On the GPU (CUDA when available, else it says so and runs on the CPU), for --seconds each:
the image fine-tune (EfficientNet-Lite, mixed precision, loader workers: the accelerator's
GPU profile) and the detector (ultralytics); then the same image fine-tune on the CPU for
--cpu-seconds, for the img/s ratio. For each trained bundle, ONNX parity: the graph on
onnxruntime's CUDA provider (when the GPU build is installed) against its CPU provider and
against the trainer's own float32 evaluation. Prints one JSON line per step and a table.
The defaults (120 s + 120 s + 45 s of training) finish in well under 8 minutes.

    python bench/gpu_check.py                              # on a GPU machine
    python bench/gpu_check.py --seconds 15 --cpu-seconds 10 --cpu   # smoke run on CPU
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from tests.trainers.vision_data import classification_samples, detection_samples  # noqa: E402
from training.engine.spec import TrainSpec  # noqa: E402

IMAGE_LABELS = ("circle", "square", "triangle")
DETECTION_LABELS = ("circle", "square")


def main() -> None:
    parser = argparse.ArgumentParser(description="train each vision trainer on the GPU, check ONNX parity")
    parser.add_argument("--seconds", type=float, default=120.0, help="budget per trainer on the device")
    parser.add_argument("--cpu-seconds", type=float, default=45.0, help="the image fine-tune's CPU run")
    parser.add_argument("--cpu", action="store_true", help="force CPU even when CUDA is available")
    parser.add_argument("--threads", type=int, default=min(8, os.cpu_count() or 1))
    parser.add_argument("--only", choices=("image", "detection"), default=None)
    args = parser.parse_args()

    import onnxruntime as ort
    import torch

    device = "cuda" if torch.cuda.is_available() and not args.cpu else "cpu"
    ort_providers = ort.get_available_providers()
    _print({"torch": torch.__version__, "device": device, "onnxruntime": ort.__version__, "providers": ort_providers,
            "gpu": torch.cuda.get_device_name(0) if device == "cuda" else None,
            "note": None if device == "cuda" else "no CUDA device: every figure below is the CPU's"})
    rows = []
    with tempfile.TemporaryDirectory(prefix="exeml-gpu-check-") as tmp:
        root = Path(tmp)
        if args.only in (None, "image"):
            samples = classification_samples(root / "img", labels=IMAGE_LABELS, per_label_train=60,
                                             per_label_eval=20, size=160)
            for run_device, seconds in ((device, args.seconds), ("cpu", args.cpu_seconds)):
                if run_device == "cpu" and device == "cpu" and rows:
                    break  # already the CPU figure
                spec = TrainSpec(task_type="image_classification", labels=IMAGE_LABELS, samples=tuple(samples),
                                 device=run_device, threads=args.threads, params={"search": False})
                rows.append(_run("image", spec, root / f"work-img-{run_device}", seconds, "accuracy"))
        if args.only in (None, "detection"):
            samples = detection_samples(root / "det", labels=DETECTION_LABELS, n_train=60, n_eval=16, size=(320, 240))
            spec = TrainSpec(task_type="object_detection", labels=DETECTION_LABELS, samples=tuple(samples),
                             device=device, threads=args.threads, params={"imgsz": 320})
            rows.append(_run("detection", spec, root / "work-det", args.seconds, "map50"))
    _table(rows)


def _run(name: str, spec: TrainSpec, workdir: Path, seconds: float, metric: str) -> dict:
    from training.engine.trainers import get_trainer

    start = time.monotonic()
    result = get_trainer(spec.task_type).fit(spec, workdir, start + seconds, lambda *a, **k: None)
    elapsed = time.monotonic() - start
    params = json.loads((result.bundle_dir / "bundle.json").read_text())["train_params"]
    row = {
        "trainer": name, "asked": spec.device, "device": params.get("device"), metric: round(result.metrics[metric], 4),
        "images_per_s": params.get("images_per_second"), "epochs": params.get("epochs"),
        "seconds": round(elapsed, 1), "stopped_by_deadline": result.stopped_by_deadline,
        "trainer_onnx_check": result.evaluation.get("onnx_check", {}).get("max_abs_diff"),
        "log": [line for line in result.log if "autocast" in line or "planned" in line or "CUDA" in line],
        **_parity(result.bundle_dir),
    }
    _print(row)
    return row


def _parity(bundle_dir: Path) -> dict:
    """The graph on the CUDA provider against the CPU provider, on random inputs of its shape."""
    import onnxruntime as ort

    model = str(bundle_dir / "model.onnx")
    cpu = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    if "CUDAExecutionProvider" not in ort.get_available_providers():
        return {"onnx_cuda_vs_cpu": None, "onnx_note": "onnxruntime has no CUDA provider (CPU build installed)"}
    gpu = ort.InferenceSession(model, providers=["CUDAExecutionProvider", "CPUExecutionProvider"])
    inp = cpu.get_inputs()[0]
    shape = [4 if not isinstance(d, int) else d for d in inp.shape]
    x = np.random.default_rng(0).random(shape, dtype=np.float32)
    a = cpu.run(None, {inp.name: x})[0]
    b = gpu.run(None, {inp.name: x})[0]
    return {"onnx_cuda_vs_cpu": float(np.max(np.abs(a - b))), "onnx_cuda_used": gpu.get_providers()[0]}


def _table(rows: list[dict]) -> None:
    cpu_image = next((r for r in rows if r["trainer"] == "image" and r["device"] == "cpu"), None)
    print(f"\n{'trainer':<10} {'device':<6} {'img/s':>8} {'x CPU':>6} {'epochs':>6} {'seconds':>7} "
          f"{'metric':>7} {'ONNX vs torch':>13} {'ONNX CUDA vs CPU':>16}")
    for r in rows:
        metric = r.get("accuracy", r.get("map50"))
        ratio = "—"
        if r["trainer"] == "image" and cpu_image and r is not cpu_image and cpu_image["images_per_s"]:
            ratio = f"{(r['images_per_s'] or 0) / cpu_image['images_per_s']:.1f}"
        cuda = "—" if r.get("onnx_cuda_vs_cpu") is None else f"{r['onnx_cuda_vs_cpu']:.2e}"
        torch_diff = "—" if r["trainer_onnx_check"] is None else f"{r['trainer_onnx_check']:.2e}"
        print(f"{r['trainer']:<10} {r['device']:<6} {r['images_per_s'] or 0:>8} {ratio:>6} {r['epochs'] or 0:>6} "
              f"{r['seconds']:>7} {metric:>7} {torch_diff:>13} {cuda:>16}")


def _print(obj: dict) -> None:
    print(json.dumps(obj), flush=True)


if __name__ == "__main__":
    main()

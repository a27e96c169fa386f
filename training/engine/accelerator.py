"""Where a network trains and how it uses the device: one choice for every torch trainer.

A GPU flavor asks for ``cuda``. On a GPU the trainers use mixed precision (bfloat16 where the
card has it, else float16 with a gradient scaler), batches twice the CPU recipe's, and data
loading in worker processes with pinned memory so augmentation overlaps the GPU's work. On
the CPU nothing changes from the plain float32 loop the recipes were tuned with.

Prediction and export always run in float32 on the CPU (``for_inference``): the scores the
search ranks by, and the ONNX parity checks, must not depend on the card a version trained
on. CI has no GPU, so the GPU profile's code paths are run on the CPU by setting
``EXEML_TRAIN_PROFILE=gpu-on-cpu`` (bfloat16 autocast, larger batches, loader workers).
"""

from __future__ import annotations

import contextlib
import logging
import os
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger(__name__)

PROFILE_ENV = "EXEML_TRAIN_PROFILE"
GPU_ON_CPU = "gpu-on-cpu"


@dataclass(frozen=True)
class Accelerator:
    device: str = "cpu"  # the torch device training runs on
    amp: str | None = None  # autocast dtype ("bfloat16", "float16") or None for float32
    batch_scale: int = 1  # times the CPU recipe's batch
    loader_workers: int = 0  # data-loading worker processes (0: in the training loop)
    pin_memory: bool = False
    note: str = ""  # why a CUDA request trains elsewhere, for the training log

    @property
    def gpu_profile(self) -> bool:
        return self.amp is not None

    def batch(self, cpu_batch: int) -> int:
        return cpu_batch * self.batch_scale

    def autocast(self) -> Any:
        """The forward pass's precision context (a no-op in float32)."""
        if self.amp is None:
            return contextlib.nullcontext()
        import torch

        return torch.autocast(device_type=self.device, dtype=getattr(torch, self.amp))

    def scaler(self) -> Any:
        """A gradient scaler where float16 needs one (bfloat16 and float32 do not), else None."""
        if self.amp != "float16":
            return None
        import torch

        return torch.amp.GradScaler(self.device)

    def step(self, optimizer: Any, scaler: Any, compute_loss: Any) -> Any:
        """One optimisation step: the loss computed under ``autocast``, backward (scaled when
        ``scaler``, from ``scaler()``), the optimizer's step; returns the loss."""
        optimizer.zero_grad(set_to_none=True)
        with self.autocast():
            loss = compute_loss()
        if scaler is None:
            loss.backward()
            optimizer.step()
        else:
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
        return loss

    def describe(self) -> str:
        how = f"{self.device}, float32"
        if self.gpu_profile:
            how = f"{self.device}, {self.amp} autocast, batch x{self.batch_scale}, {self.loader_workers} loader workers"
        return how + (f"; {self.note}" if self.note else "")


CPU = Accelerator()


def cuda_available() -> bool:
    import torch

    return bool(torch.cuda.is_available())


def accelerator_for(requested: str, *, threads: int = 1) -> Accelerator:
    """The accelerator for a spec's device (``cpu`` or ``cuda``)."""
    if os.environ.get(PROFILE_ENV) == GPU_ON_CPU:
        return Accelerator("cpu", amp="bfloat16", batch_scale=2, loader_workers=min(2, max(1, threads)))
    if requested != "cuda":
        return CPU
    if not cuda_available():
        note = "a GPU was asked for but CUDA is not available: training on the CPU"
        logger.warning(note)
        return Accelerator(note=note)
    import torch

    amp = "bfloat16" if torch.cuda.is_bf16_supported() else "float16"
    return Accelerator("cuda", amp=amp, batch_scale=2, loader_workers=min(8, max(2, threads)), pin_memory=True)


def seed_worker(worker_id: int) -> None:
    """A DataLoader worker's augmentation stream: its dataset's rng reseeded per worker, so
    workers do not draw the same crops (each starts from a copy of the parent's rng)."""
    import torch

    info = torch.utils.data.get_worker_info()
    rng = getattr(info.dataset, "rng", None) if info is not None else None
    if rng is not None:
        rng.seed(info.seed % 2**32)

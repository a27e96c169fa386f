"""Predictor base: one onnxruntime session over a bundle folder (model.onnx + bundle.json).

Serving imports only numpy, onnxruntime, tokenizers, soundfile and PIL: no torch,
LightGBM, sklearn or librosa, so a service starts fast and never JIT-compiles per request.
"""

from __future__ import annotations

import json
import os
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from training.engine.bundle import BUNDLE_FILE, MODEL_FILE, decode_warmup, warmup_bytes  # noqa: F401


class PredictionError(ValueError):
    """A malformed request (HTTP 400); the message names what is wrong."""


_run_options: ContextVar[Any] = ContextVar("exeml_run_options", default=None)


@contextmanager
def run_options(options: Any) -> Iterator[None]:
    """Session runs of this thread inside the block use ``options`` (an onnxruntime
    ``RunOptions``): whoever holds it can stop a running prediction by setting its
    ``terminate`` (serving's deadline does, from its watchdog thread)."""
    token = _run_options.set(options)
    try:
        yield
    finally:
        _run_options.reset(token)


class Predictor(ABC):
    task_type: str = ""

    def __init__(
        self, bundle_dir: Path, *, providers: list[str] | None = None, intra_op_threads: int = 1
    ) -> None:
        os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")  # must precede the import
        import onnxruntime as ort

        self.bundle_dir = Path(bundle_dir)
        self.bundle: dict[str, Any] = json.loads((self.bundle_dir / BUNDLE_FILE).read_text(encoding="utf-8"))
        options = ort.SessionOptions()
        options.intra_op_num_threads = max(1, int(intra_op_threads))
        options.inter_op_num_threads = 1
        model_path = self.bundle_dir / self.bundle.get("model_file", MODEL_FILE)
        self.session = ort.InferenceSession(
            str(model_path), sess_options=options, providers=providers or ["CPUExecutionProvider"]
        )
        self.labels: list[str] = list(self.bundle.get("labels", []))
        self.input_names = [i.name for i in self.session.get_inputs()]
        self.output_names = [o.name for o in self.session.get_outputs()]

    def run_session(self, outputs: list[str] | None, feeds: dict[str, Any]) -> list[Any]:
        """``session.run`` under the caller's run options (see ``run_options``)."""
        return self.session.run(outputs, feeds, _run_options.get())

    @abstractmethod
    def predict(self, payload: Any) -> dict[str, Any]:
        """Decode ``payload`` (bytes or dict, per task) and answer in the ModelArts shape."""

    def warmup(self) -> dict[str, Any] | None:
        """Run the bundle's warmup example once so the first real request is not slow."""
        example = self.decode_warmup(self.bundle.get("warmup_example"))
        if example is None:
            return None
        return self.predict(example)

    def decode_warmup(self, example: Any) -> Any:
        return decode_warmup(example)

"""Run an exported graph row by row, as the service runs it (batch-1 numerics), so a parity
check or an evaluation sees the numbers a caller will get."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np


def run_rows(model: Any, x: np.ndarray, *, input_name: str = "input", threads: int = 1) -> np.ndarray:
    """The graph's first output for each row of ``x``; ``model`` is a ModelProto or a path."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = max(1, threads)
    source = str(model) if isinstance(model, (str, Path)) else model.SerializeToString()
    session = ort.InferenceSession(source, opts, providers=["CPUExecutionProvider"])
    return np.concatenate([session.run(None, {input_name: x[i : i + 1]})[0] for i in range(len(x))])

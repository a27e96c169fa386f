"""Sound classification: WAV bytes in, {"predicted_label", "score"} out.

Features come from the shared numpy pipeline (training.engine.preprocessing.audio), the same
function the trainer used; no librosa, so no numba compile per process or request. The
graph declares its inputs by name ("summary": clip statistics, "log_mel": the fixed-length
spectrogram; an ensemble may read both) and the clip is decoded once for all of them.
Older bundles have one input "features" of kind ``preprocessing["features"]``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from training.engine.preprocessing import InputError
from training.engine.preprocessing import audio as audioprep

from .base import PredictionError, Predictor

FEATURE_OF_INPUT = {"summary": "summary", "log_mel": "log_mel"}


class SoundPredictor(Predictor):
    task_type = "sound_classification"

    def inputs_for(self, data: Any) -> dict[str, np.ndarray]:
        """The graph's feeds for one clip (batch of one)."""
        if not isinstance(data, bytes | bytearray | memoryview):
            raise PredictionError("expected the raw bytes of a 16-bit WAV file")
        config = self.bundle["preprocessing"]
        try:
            signal = audioprep.load_signal(bytes(data), config)
        except InputError as exc:
            raise PredictionError(str(exc)) from None
        feeds = {}
        for name in self.input_names:
            kind = FEATURE_OF_INPUT.get(name, config.get("features", "summary"))
            feeds[name] = audioprep.features_from_signal(signal, {**config, "features": kind})[None].astype(np.float32)
        return feeds

    def run(self, feeds: dict[str, np.ndarray]) -> np.ndarray:
        """[N, C] class probabilities in bundle label order."""
        key = "probabilities" if "probabilities" in self.output_names else self.output_names[-1]
        return np.asarray(self.run_session([key], feeds)[0], dtype=np.float64)

    def predict(self, payload: Any) -> dict[str, Any]:
        proba = self.run(self.inputs_for(payload))[0]
        best = int(np.argmax(proba))
        return {"predicted_label": self.labels[best], "score": float(proba[best])}

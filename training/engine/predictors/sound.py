"""Sound classification: WAV bytes in, {"predicted_label", "score"} out.

Features come from the shared numpy pipeline (training.engine.preprocessing.audio), the same
function the trainer used; no librosa, so no numba compile per process or request.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from training.engine.preprocessing import InputError
from training.engine.preprocessing import audio as audioprep

from .base import PredictionError, Predictor


class SoundPredictor(Predictor):
    task_type = "sound_classification"

    def features(self, data: Any) -> np.ndarray:
        if not isinstance(data, bytes | bytearray | memoryview):
            raise PredictionError("expected the raw bytes of a 16-bit WAV file")
        try:
            return audioprep.features_from_wav(bytes(data), self.bundle["preprocessing"])
        except InputError as exc:
            raise PredictionError(str(exc)) from None

    def probabilities(self, batch: np.ndarray) -> np.ndarray:
        """[N, C] from a batch of features (as features() returns, stacked)."""
        outputs = dict(
            zip(self.output_names, self.session.run(None, {self.input_names[0]: batch}), strict=True)
        )
        key = "probabilities" if "probabilities" in outputs else self.output_names[-1]
        return np.asarray(outputs[key], dtype=np.float64)

    def predict(self, payload: Any) -> dict[str, Any]:
        proba = self.probabilities(self.features(payload)[None].astype(np.float32))[0]
        best = int(np.argmax(proba))
        return {"predicted_label": self.labels[best], "score": float(proba[best])}

"""What the sound trainer writes and checks: a selection as a bundle the SoundPredictor
loads (model.onnx, and the single LightGBM or CNN member's own file for incremental
training), and a bundle evaluated through that predictor on the EVAL clips."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np

from training.engine.models.sound import CNNSound, LGBMSound, SoundData
from training.engine.preprocessing import audio as audioprep
from training.engine.spec import MODEL_FILE

from . import automl
from .common import evaluate_served, write_bundle

LGBM_FILE = "lgbm.txt"
CNN_FILE = "cnn.pt"
INPUT_ORDER = ("summary", "log_mel")


def _warmup_wav(sample_rate: int = audioprep.SAMPLE_RATE) -> bytes:
    import soundfile

    t = np.arange(sample_rate) / sample_rate
    buf = io.BytesIO()
    soundfile.write(buf, 0.3 * np.sin(2 * np.pi * 440.0 * t), sample_rate, subtype="PCM_16", format="WAV")
    return buf.getvalue()


# ----------------------------------------------------------------------------- portfolio


def single_kind(ensemble) -> str:
    kinds = {type(m).__name__ for m in ensemble.models.values()}
    if len(kinds) == 1 and len(ensemble.models) == 1:
        return {"LGBMSound": "lgbm", "CNNSound": "cnn", "LinearSound": "linear"}[kinds.pop()]
    return "ensemble"


class SoundBundle:
    """Writes a selection as a bundle the SoundPredictor loads, and evaluates a bundle through
    that predictor on the EVAL clips (decoded once for the evaluated and the served model)."""

    def __init__(self, task_type: str, data: SoundData, labels: list[str], config: dict[str, Any], evals,
                 eval_rows: np.ndarray, threads: int) -> None:
        self.task_type, self.data, self.labels, self.config = task_type, data, labels, config
        self.evals, self.eval_rows, self.threads = evals, eval_rows, threads
        # A clip's inputs by name: the evaluated and the served model may read different
        # inputs, so the cache keeps every input either declares.
        self.feed_cache: dict[str, dict[str, np.ndarray]] = {}

    def common(self, ensemble) -> dict[str, Any]:
        from training.engine.bundle import warmup_bytes

        data = self.data
        inputs = [n for n in INPUT_ORDER if any(n in m.inputs for m in ensemble.models.values())]
        shape = list((data.summary if inputs == ["summary"] else data.log_mel).shape[1:]) if len(inputs) == 1 else None
        return {
            "task_type": self.task_type, "labels": self.labels,
            "input_spec": {"type": "wav", "sample_width_bits": 16, "feature_shape": shape},
            "preprocessing": {**self.config, "inputs": inputs}, "postprocessing": {"kind": "softmax"},
            "warmup_example": warmup_bytes(_warmup_wav()),
        }

    def write(self, ensemble, folder: Path) -> None:
        model = automl.export_ensemble(ensemble, self.data.input_info, INPUT_ORDER)
        (folder / MODEL_FILE).write_bytes(model.SerializeToString())
        member = next(iter(ensemble.models.values()))
        if isinstance(member, LGBMSound) and len(ensemble.models) == 1:
            member.booster.save_model(str(folder / LGBM_FILE))
        if isinstance(member, CNNSound) and len(ensemble.models) == 1:
            import torch

            torch.save(member.net.state_dict(), folder / CNN_FILE)
        write_bundle(folder, metrics={}, train_params={"model": single_kind(ensemble)}, **self.common(ensemble))

    def onnx_proba(self, folder: Path) -> np.ndarray:
        """The ONNX predictor on each EVAL clip as serving runs it."""
        from training.engine.predictors.sound import SoundPredictor

        predictor = SoundPredictor(folder, intra_op_threads=self.threads)
        rows = []
        for s in self.evals:
            feeds = self.feed_cache.setdefault(s.id, {})
            if not set(predictor.input_names) <= set(feeds):
                feeds.update(predictor.inputs_for(Path(s.path).read_bytes()))
            rows.append(predictor.run({n: feeds[n] for n in predictor.input_names})[0])
        return np.vstack(rows) if rows else np.zeros((0, len(self.labels)))

    def evaluate(self, folder: Path, ensemble):
        proba = self.onnx_proba(folder) if self.evals else None
        return evaluate_served("sound", self.evals, self.labels, self.eval_rows, proba, ensemble)

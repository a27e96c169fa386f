"""What the image search leaves behind: the bundle a selection is written as (and evaluated
through, as served), and the fine-tuned weights a next, incremental version starts from."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from training.engine.calibration import calibrate_onnx
from training.engine.ensemble import Ensemble
from training.engine.evaluation import image_results
from training.engine.models.efficientnet import WEIGHTS_FILE
from training.engine.models.image import ONE, OUTPUT, ZERO, FineTuneModel, ImageData, onnx_probabilities
from training.engine.onnx_blend import blend_models, max_abs_diff
from training.engine.preprocessing.image import decode_image, warmup_example
from training.engine.preprocessing.pixel_cache import in_batches
from training.engine.spec import MODEL_FILE, TrainSpec

from .common import calibration_view, write_bundle

PARITY_TOLERANCE = 1e-5


def export(model: Any) -> Any:
    """The ONNX ModelProto of a fitted selection (one member, or their weighted blend),
    its calibration appended."""
    members = [(m.onnx(), OUTPUT) for m in model.models.values()]
    if len(members) == 1:
        proto = members[0][0]
    else:
        proto = blend_models(members, [model.weights[n] for n in model.models], output_name=OUTPUT)
    return calibrate_onnx(proto, model.calibration, output=OUTPUT)


def base_weights(spec: TrainSpec) -> str | None:
    """The base bundle when it holds fine-tuned Lite0 weights the search's fine-tune can continue."""
    if not spec.base_bundle_dir or not (Path(spec.base_bundle_dir) / WEIGHTS_FILE).is_file():
        return None
    import torch

    saved = torch.load(Path(spec.base_bundle_dir) / WEIGHTS_FILE, map_location="cpu", weights_only=True)
    return spec.base_bundle_dir if saved.get("model_name") == "efficientnet-lite0" else None


def save_weights(bundle_dir: Path, model: Ensemble, labels: list[str]) -> None:
    """A single fine-tuned Lite0 keeps its weights, so the next version can start from them."""
    members = list(model.models.values())
    if len(members) != 1 or not isinstance(members[0], FineTuneModel):
        return
    import torch

    torch.save(
        {"model_name": "efficientnet-lite0", "labels": labels, "multilabel": False,
         "state_dict": members[0].model.net.state_dict()},
        bundle_dir / WEIGHTS_FILE,
    )



class ImageBundle:
    """Writes a selection as a bundle the ImagePredictor loads, and evaluates a bundle through
    that predictor from the EVAL image files."""

    def __init__(self, task_type: str, data: ImageData, labels: list[str], size: int, families: list[str],
                 eval_samples: list[Any], eval_rows: np.ndarray, threads: int) -> None:
        self.data, self.labels, self.eval_samples, self.eval_rows, self.threads = data, labels, eval_samples, eval_rows, threads
        self.bundle = {
            "task_type": task_type, "labels": labels,
            # Which candidate families the graph holds; each does its own steps inside the graph.
            "preprocessing": {"kind": "classification", "size": size, "mean": list(ZERO), "std": list(ONE),
                              "resize": "squash", "families": families},
            "input_spec": {"name": "input", "shape": [None, 3, size, size], "dtype": "float32",
                           "request_field": "images"},
            "postprocessing": {"activation": "softmax", "output": "probabilities", "multilabel": False,
                               "threshold": 0.5, "top_k": 5},
            "warmup_example": warmup_example(size, size),
        }

    def write(self, model: Ensemble, folder: Path) -> None:
        from onnx import save_model

        save_model(export(model), str(folder / MODEL_FILE))
        write_bundle(folder, **self.bundle, metrics={}, train_params={})

    def evaluate(self, folder: Path, model: Ensemble):
        from training.engine.predictors.image import ImagePredictor

        predictor = ImagePredictor(folder, intra_op_threads=self.threads)
        served = np.stack([predictor.probabilities(decode_image(s.path)) for s in self.eval_samples])
        metrics, evaluation, predictions = image_results(self.eval_samples, served, self.labels, multilabel=False)
        evaluation["onnx_check"] = {"max_abs_diff": max_abs_diff(served, model.predict(self.eval_rows)),
                                    "tolerance": PARITY_TOLERANCE}
        evaluation["calibration"] = calibration_view(
            [s.labels[0] for s in self.eval_samples], self.labels, model.predict_uncalibrated(self.eval_rows),
            served, model.calibration,
        )
        return metrics, evaluation, predictions

    def served_proba(self, folder: Path) -> np.ndarray:
        return np.concatenate([
            onnx_probabilities(folder / MODEL_FILE, self.data.inputs(rows), threads=self.threads)
            for rows in in_batches(self.eval_rows)
        ])

"""The GPU profile of the torch trainers (mixed precision, larger batches, loader workers),
run on the CPU: CI has no GPU, so EXEML_TRAIN_PROFILE=gpu-on-cpu takes the same code paths
with bfloat16 autocast on the CPU. Whatever the training ran on, scores and export are
float32 on the CPU, so the ONNX graph answers what the search evaluated."""

from __future__ import annotations

import time

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("efficientnet_lite_pytorch")

from tests.trainers.ml_data import SOUND_LABELS, sound_samples  # noqa: E402
from tests.trainers.vision_data import classification_samples  # noqa: E402
from training.engine import accelerator  # noqa: E402
from training.engine.accelerator import CPU, GPU_ON_CPU, PROFILE_ENV, Accelerator, accelerator_for  # noqa: E402
from training.engine.budget import Budget  # noqa: E402
from training.engine.models.image import FineTuneModel, FineTunePlan, ImageData, onnx_probabilities  # noqa: E402
from training.engine.spec import TrainSpec  # noqa: E402
from training.engine.trainers import get_trainer  # noqa: E402


@pytest.fixture
def gpu_profile(monkeypatch):
    monkeypatch.setenv(PROFILE_ENV, GPU_ON_CPU)


def test_the_cpu_keeps_the_float32_recipe_and_a_missing_gpu_says_so(monkeypatch):
    assert accelerator_for("cpu", threads=2) == CPU
    assert CPU.describe() == "cpu, float32" and CPU.batch(16) == 16 and CPU.scaler() is None
    monkeypatch.setattr(accelerator, "cuda_available", lambda: False)
    fallback = accelerator_for("cuda", threads=2)
    assert fallback.device == "cpu" and not fallback.gpu_profile
    assert "CUDA is not available" in fallback.note and fallback.note in fallback.describe()


def test_the_gpu_profile_on_the_cpu(gpu_profile):
    acc = accelerator_for("cpu", threads=2)
    assert acc.device == "cpu" and acc.amp == "bfloat16" and acc.batch(16) == 32 and acc.loader_workers == 2
    assert acc.scaler() is None  # bfloat16 needs no loss scaling
    with acc.autocast():
        assert torch.mm(torch.ones(2, 2), torch.ones(2, 2)).dtype == torch.bfloat16


def test_float16_steps_scale_their_gradients_and_still_learn():
    acc = Accelerator("cpu", amp="float16")
    scaler = acc.scaler()
    assert scaler is not None
    torch.manual_seed(0)
    net = torch.nn.Linear(4, 2)
    opt = torch.optim.SGD(net.parameters(), lr=0.5)
    x = torch.randn(64, 4)
    y = (x[:, 0] > 0).long()
    losses = [float(acc.step(opt, scaler, lambda: torch.nn.functional.cross_entropy(net(x), y)).detach()) for _ in range(30)]
    assert losses[-1] < 0.5 * losses[0]
    assert scaler.get_scale() > 1.0  # the loss was scaled before backward


def test_the_search_fine_tune_trains_with_workers_and_mixed_precision_and_exports_exactly(tmp_path):
    from PIL import Image

    samples = classification_samples(tmp_path / "data", labels=("circle", "square"), per_label_train=8,
                                     per_label_eval=2, size=64)
    pixels = np.stack([np.asarray(Image.open(s.path).convert("RGB").resize((64, 64))) for s in samples])
    y = np.array([0 if s.labels[0] == "circle" else 1 for s in samples])
    acc = Accelerator("cpu", amp="bfloat16", batch_scale=2, loader_workers=2)
    data = ImageData(pixels=pixels, y=y, n_classes=2, threads=2, accelerator=acc)
    rows = np.arange(len(samples))
    model = FineTuneModel(data, FineTunePlan(flip=True, max_epochs=2)).fit(rows, Budget(time.monotonic() + 120))
    assert model.epochs == 2
    assert next(model.model.parameters()).dtype == torch.float32 and next(model.model.parameters()).device.type == "cpu"
    python = model.predict(rows)
    np.testing.assert_allclose(python.sum(axis=1), 1.0, atol=1e-6)
    assert np.max(np.abs(python - onnx_probabilities(model.onnx(), data.inputs(rows)))) <= 1e-5


def test_the_single_model_fine_tune_runs_the_gpu_profile(gpu_profile, tmp_path):
    samples = classification_samples(tmp_path / "data", labels=("circle", "square"), per_label_train=6,
                                     per_label_eval=3, size=96, multilabel=True)
    spec = TrainSpec(task_type="image_classification", labels=("circle", "square"), samples=tuple(samples),
                     threads=2, params={"image_size": 96, "max_epochs": 2})
    result = get_trainer("image_classification").fit(spec, tmp_path / "work", time.monotonic() + 60, lambda *a: None)
    assert any("bfloat16 autocast" in line for line in result.log)
    assert result.evaluation["onnx_check"]["max_abs_diff"] <= 1e-5
    assert not (tmp_path / "work" / "pixel-cache").exists()


def test_the_sound_cnn_runs_the_gpu_profile(gpu_profile, tmp_path):
    samples = sound_samples(tmp_path / "wav")
    spec = TrainSpec(task_type="sound_classification", labels=SOUND_LABELS, samples=samples, threads=1,
                     preference="accuracy_first",
                     params={"max_epochs": 2, "sound_candidates": ["cnn"], "refit_on_all": False})
    result = get_trainer("sound_classification").fit(spec, tmp_path / "work", time.monotonic() + 60, lambda *a: None)
    assert any("bfloat16 autocast" in line for line in result.log)
    check = result.evaluation["onnx_check"]
    assert check["labels_equal"] and check["max_abs_diff"] < 1e-5

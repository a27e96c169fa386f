"""The one training-time image augmentation (PIL, the library serving decodes with)."""

from __future__ import annotations

import math
import random

import numpy as np
from PIL import Image, ImageEnhance

from training.engine.preprocessing.image import classification_input


def random_view(
    img: Image.Image, rng: random.Random, *, min_area: float, jitter: float, flip: bool = True,
    keep_size: bool = False,
) -> Image.Image:
    """A random square crop of at least ``min_area`` of the image, a horizontal flip half the
    time (when ``flip``), and brightness/contrast scaled by 1 ± ``jitter``. ``keep_size``
    resizes the crop back to the input's side; otherwise the caller resizes."""
    side = img.width
    crop = int(side * math.sqrt(rng.uniform(min_area, 1.0)))
    x0, y0 = rng.randint(0, side - crop), rng.randint(0, side - crop)
    img = img.crop((x0, y0, x0 + crop, y0 + crop))
    if keep_size:
        img = img.resize((side, side), Image.BILINEAR)
    if flip and rng.random() < 0.5:
        img = img.transpose(Image.FLIP_LEFT_RIGHT)
    img = ImageEnhance.Brightness(img).enhance(rng.uniform(1.0 - jitter, 1.0 + jitter))
    return ImageEnhance.Contrast(img).enhance(rng.uniform(1.0 - jitter, 1.0 + jitter))


class AugmentedSet:
    """Train images decoded once; random crop/flip/colour per draw (PIL, like serving)."""

    def __init__(self, images: list[Image.Image], targets: np.ndarray, size: int, seed: int, *,
                 mean: tuple[float, ...], std: tuple[float, ...]) -> None:
        self.mean, self.std = mean, std
        pre = int(round(size * 1.15))
        self.images = [im.resize((pre, pre), Image.BILINEAR) for im in images]
        self.targets = targets
        self.size = size
        self.rng = random.Random(seed)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        # Fine-tuning from ImageNet: crops of at least 60 % of the area, ±20 % light.
        img = random_view(self.images[i], self.rng, min_area=0.6, jitter=0.2)
        x = classification_input(img, size=self.size, mean=self.mean, std=self.std)[0]
        return x, self.targets[i]

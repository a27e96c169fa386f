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


def pre_size(size: int) -> int:
    """The side AugmentedSet's images are cached at: crops of it resize down to ``size``."""
    return int(round(size * 1.15))


class AugmentedSet:
    """Train images decoded once and squashed to ``pre_size(size)`` (uint8 [n, pre, pre, 3],
    in memory or a pixel_cache map); random crop/flip/colour per draw (PIL, like serving)."""

    def __init__(self, pixels: np.ndarray, targets: np.ndarray, size: int, seed: int, *,
                 mean: tuple[float, ...], std: tuple[float, ...]) -> None:
        if pixels.shape[1:3] != (pre_size(size), pre_size(size)):
            raise ValueError(f"images must be cached at {pre_size(size)} px, not {pixels.shape[1:3]}")
        self.mean, self.std = mean, std
        self.images = pixels
        self.targets = targets
        self.size = size
        self.rng = random.Random(seed)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        # Fine-tuning from ImageNet: crops of at least 60 % of the area, ±20 % light.
        img = random_view(Image.fromarray(np.asarray(self.images[i])), self.rng, min_area=0.6, jitter=0.2)
        x = classification_input(img, size=self.size, mean=self.mean, std=self.std)[0]
        return x, self.targets[i]

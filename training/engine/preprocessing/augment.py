"""The one training-time image augmentation (PIL, the library serving decodes with)."""

from __future__ import annotations

import math
import random

from PIL import Image, ImageEnhance


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

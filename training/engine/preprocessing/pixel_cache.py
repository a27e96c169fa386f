"""Images cached at the training resolution, on disk.

A trainer decodes every image once, squashes it to the side it trains at and writes it into
one ``.npy`` file it then reads as a read-only memory map: 20,000 images at 224 px are 3 GB
of pixels, which the OS pages in and out as the epochs draw rows, instead of a process that
holds them all (or the full-size decodes, ~10x more). Rows are read by index exactly like an
in-memory array, so the models need not know which one they hold.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np

from training.engine.preprocessing.image import decode_image, resize_square

# Under this many bytes the pixels stay in memory: a file buys nothing for a few hundred images.
IN_MEMORY_BYTES = 256 * 1024 * 1024


def cache_pixels(
    paths: Sequence[str | Path],
    size: int,
    folder: Path,
    *,
    name: str = "pixels",
    beat: Callable[[], None] | None = None,
    in_memory_bytes: int | None = None,
) -> np.ndarray:
    """uint8 [n, size, size, 3]: each image decoded once and squashed to ``size`` (as
    ``resize_square`` does for serving). Above ``in_memory_bytes`` the array is a read-only
    memory map of ``folder/<name>.npy`` (limit: IN_MEMORY_BYTES unless given); a decode error propagates (ImageDecodeError)."""
    shape = (len(paths), size, size, 3)
    limit = IN_MEMORY_BYTES if in_memory_bytes is None else in_memory_bytes
    if int(np.prod(shape)) <= limit:
        out = np.empty(shape, dtype=np.uint8)
        _fill(out, paths, size, beat)
        return out
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{name}.npy"
    out = np.lib.format.open_memmap(target, mode="w+", dtype=np.uint8, shape=shape)
    try:
        _fill(out, paths, size, beat)
        out.flush()
    finally:
        del out  # closes the writable map before the read-only one opens
    return np.load(target, mmap_mode="r")


def _fill(out: np.ndarray, paths: Iterable[str | Path], size: int, beat: Callable[[], None] | None) -> None:
    for i, path in enumerate(paths):
        # The full decode, as the evaluation's predictor gets it: the parity checks stay exact.
        out[i] = resize_square(decode_image(path), size=size)
        if beat is not None and i % 256 == 255:
            beat()


def in_batches(rows: np.ndarray, batch: int = 256) -> Iterable[np.ndarray]:
    """``rows`` in consecutive slices of at most ``batch``: float work on a few rows at a time
    keeps memory flat however many rows a call names."""
    rows = np.asarray(rows)
    for i in range(0, len(rows), batch):
        yield rows[i : i + batch]

"""Images cached at the training resolution: on disk above the in-memory limit, read back
exactly as the in-memory array, and drawn by the augmentation alike."""

from __future__ import annotations

import random

import numpy as np
import pytest
from PIL import Image

from training.engine.preprocessing.augment import AugmentedSet, pre_size
from training.engine.preprocessing.image import ImageDecodeError, decode_image, resize_square
from training.engine.preprocessing.pixel_cache import cache_pixels, in_batches


@pytest.fixture
def photos(tmp_path):
    rng = np.random.default_rng(3)
    paths = []
    for i, (w, h) in enumerate([(40, 30), (17, 50), (64, 64), (33, 21), (90, 12)]):
        path = tmp_path / f"p{i}.{'png' if i % 2 else 'jpg'}"
        Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(path)
        paths.append(path)
    return paths


def test_a_map_above_the_limit_holds_what_memory_holds_and_is_read_only(photos, tmp_path):
    beats = []
    in_memory = cache_pixels(photos, 24, tmp_path / "cache", in_memory_bytes=10**9)
    mapped = cache_pixels(photos, 24, tmp_path / "cache", name="m", in_memory_bytes=0, beat=lambda: beats.append(1))
    assert not isinstance(in_memory, np.memmap) and isinstance(mapped, np.memmap)
    assert (tmp_path / "cache" / "m.npy").is_file()
    assert mapped.shape == in_memory.shape == (5, 24, 24, 3) and mapped.dtype == np.uint8
    np.testing.assert_array_equal(np.asarray(mapped), in_memory)
    # Each row is what serving's first step makes of the decoded file.
    np.testing.assert_array_equal(in_memory[2], resize_square(decode_image(photos[2]), size=24))
    with pytest.raises(ValueError):
        mapped[0, 0, 0, 0] = 1


def test_a_broken_file_fails_the_cache_with_its_decode_error(photos, tmp_path):
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8\xff not a jpeg")
    with pytest.raises(ImageDecodeError):
        cache_pixels([*photos, bad], 16, tmp_path / "cache", in_memory_bytes=0)


def test_the_augmentation_draws_the_same_from_a_map_and_refuses_another_side(photos, tmp_path):
    side = pre_size(20)
    targets = np.eye(5, dtype=np.float32)
    in_memory = AugmentedSet(cache_pixels(photos, side, tmp_path, in_memory_bytes=10**9), targets, 20, seed=7,
                             mean=(0.5,) * 3, std=(0.5,) * 3)
    mapped = AugmentedSet(cache_pixels(photos, side, tmp_path, in_memory_bytes=0), targets, 20, seed=7,
                          mean=(0.5,) * 3, std=(0.5,) * 3)
    for i in random.Random(1).choices(range(5), k=12):
        (a, ya), (b, yb) = in_memory[i], mapped[i]
        assert a.shape == (3, 20, 20)
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(ya, yb)
    with pytest.raises(ValueError, match="cached at"):
        AugmentedSet(np.zeros((2, 20, 20, 3), np.uint8), targets[:2], 20, seed=0, mean=(0,) * 3, std=(1,) * 3)


def test_batches_cover_every_row_once_in_order():
    rows = np.arange(1000)[::-3]
    batches = list(in_batches(rows, 128))
    assert all(len(b) <= 128 for b in batches)
    np.testing.assert_array_equal(np.concatenate(batches), rows)
    assert list(in_batches(np.array([], dtype=int))) == []


@pytest.mark.parametrize(("grid", "gray"), [(16, True), (8, False), (7, True)])
def test_pixel_features_from_the_cached_bytes_equal_those_of_the_model_input(grid, gray):
    from training.engine.preprocessing.image import pixel_features, pixel_features_u8, to_input

    pixels = np.random.default_rng(5).integers(0, 256, (6, 50, 50, 3), dtype=np.uint8)
    expected = pixel_features(to_input(pixels, mean=(0.0,) * 3, std=(1.0,) * 3), grid=grid, gray=gray)
    np.testing.assert_allclose(pixel_features_u8(pixels, grid=grid, gray=gray), expected, rtol=0, atol=1e-7)

import io
import struct
import warnings
import zlib

import pytest
from PIL import Image

from datasets.formats.errors import FormatError
from datasets.formats.images import inspect_image, max_image_pixels


def _encode(fmt: str, size=(20, 10), mode="RGB") -> bytes:
    buf = io.BytesIO()
    Image.new(mode, size, "blue").save(buf, format=fmt)
    return buf.getvalue()


@pytest.mark.parametrize(("fmt", "expected"), [("JPEG", "JPEG"), ("PNG", "PNG"), ("BMP", "BMP")])
def test_supported_formats(fmt, expected):
    info = inspect_image(_encode(fmt))
    assert (info.format, info.width, info.height, info.channels) == (expected, 20, 10, 3)


def test_grayscale_png_has_one_channel():
    assert inspect_image(_encode("PNG", mode="L")).channels == 1


def test_gif_is_rejected():
    with pytest.raises(FormatError) as exc:
        inspect_image(_encode("GIF", mode="P"))
    assert "GIF is not supported" in exc.value.reason


def test_empty_file():
    with pytest.raises(FormatError) as exc:
        inspect_image(b"")
    assert "empty" in exc.value.reason


def test_too_large():
    data = _encode("PNG")
    with pytest.raises(FormatError) as exc:
        inspect_image(data + b"\x00" * (6 * 1024 * 1024), max_bytes=5 * 1024 * 1024)
    assert "larger than the 5 MB limit" in exc.value.reason
    assert "6.0 MB" in exc.value.reason


def test_not_an_image():
    with pytest.raises(FormatError) as exc:
        inspect_image(b"hello, I am text" * 10)
    assert "not a readable image" in exc.value.reason


def test_truncated_jpeg():
    img = Image.effect_noise((200, 200), 64).convert("RGB")
    buf = io.BytesIO()
    img.save(buf, format="JPEG")
    data = buf.getvalue()
    inspect_image(data)
    with pytest.raises(FormatError) as exc:
        inspect_image(data[: len(data) // 2])
    assert "damaged" in exc.value.reason


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _bomb_png(width: int, height: int) -> bytes:
    # A few hundred bytes that declare a huge image; decoding would allocate width*height*3 bytes.
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 1000)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b"")


@pytest.mark.parametrize("side", [30000, 10000, 8000, 5000])  # over Pillow's default error, its warning, ours
def test_decompression_bomb_png(side):
    data = _bomb_png(side, side)
    assert len(data) < 1000
    with pytest.raises(FormatError) as exc:
        inspect_image(data)
    assert f"{side}×{side} pixels" in exc.value.reason and "more than the limit of 21.0 MP" in exc.value.reason


def test_the_pixel_limit_follows_the_byte_limit():
    # 4 pixels per byte allowed (2 bits per pixel at the limit), up to a 50 MP ceiling.
    assert max_image_pixels(5 * 1024 * 1024) == 20_971_520
    assert max_image_pixels(1024 * 1024) == 4_194_304
    assert max_image_pixels(100 * 1024 * 1024) == 50_000_000
    inspect_image(_encode("PNG", size=(2048, 2048)), max_bytes=1024 * 1024)  # 4.19 MP: at the limit
    with pytest.raises(FormatError) as exc:
        inspect_image(_encode("PNG", size=(2049, 2048)), max_bytes=1024 * 1024)
    assert "2049×2048 pixels" in exc.value.reason and "4.2 MP" in exc.value.reason


def test_a_real_49_megapixel_png_of_a_few_kilobytes_is_refused_from_its_header():
    data = _encode("PNG", size=(7000, 7000), mode="L")
    assert len(data) < 200_000  # what the byte limit alone let through
    with pytest.raises(FormatError) as exc:
        inspect_image(data)
    assert exc.value.reason == "image is 7000×7000 pixels (49.0 MP), more than the limit of 21.0 MP"


def test_pillow_guards_every_decode_with_the_same_limit():
    from django.conf import settings

    assert Image.MAX_IMAGE_PIXELS == max_image_pixels(settings.EXEML_LIMITS["image_max_bytes"])


@pytest.mark.parametrize("side", [5000, 10000, 30000])  # Pillow warns over the limit, refuses over twice it
def test_a_bomb_warning_or_error_never_escapes_a_decode(side):
    """Where warnings are errors (python -W error), Pillow's DecompressionBombWarning is an
    exception: every decode turns it into its own refusal (a 400), never a 500."""
    from training.engine.preprocessing.image import ImageDecodeError, decode_image, image_size

    data = _bomb_png(side, side)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(FormatError):
            inspect_image(data)
        with pytest.raises(ImageDecodeError):
            decode_image(data)
        with pytest.raises(ImageDecodeError):
            image_size(io.BytesIO(data))


def test_pixel_limit_is_a_parameter():
    with pytest.raises(FormatError):
        inspect_image(_encode("PNG", size=(100, 100)), max_pixels=5000)

import io
import struct
import zlib

import pytest
from PIL import Image

from datasets.formats.errors import FormatError
from datasets.formats.images import inspect_image


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


@pytest.mark.parametrize("side", [30000, 10000, 8000])  # Pillow's error, Pillow's warning, our 50 MP limit
def test_decompression_bomb_png(side):
    data = _bomb_png(side, side)
    assert len(data) < 1000
    with pytest.raises(FormatError) as exc:
        inspect_image(data)
    assert "too large" in exc.value.reason or "limit" in exc.value.reason


def test_our_limit_names_the_size():
    with pytest.raises(FormatError) as exc:
        inspect_image(_bomb_png(8000, 8000))
    assert "8000x8000" in exc.value.reason and "50 MP limit" in exc.value.reason


def test_pixel_limit_is_a_parameter():
    with pytest.raises(FormatError):
        inspect_image(_encode("PNG", size=(100, 100)), max_pixels=5000)

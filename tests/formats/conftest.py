import io
import struct

import pytest
from PIL import Image


def png_bytes(width: int = 8, height: int = 8, mode: str = "RGB") -> bytes:
    buf = io.BytesIO()
    Image.new(mode, (width, height), "red" if mode != "L" else 128).save(buf, format="PNG")
    return buf.getvalue()


def wav_bytes(
    *, seconds: float = 1.5, rate: int = 8000, channels: int = 1, bits: int = 16, code: int = 1,
    extensible: bool = False,
) -> bytes:
    """A RIFF/WAVE file written by hand so any format code and bit depth can be produced."""
    block = channels * bits // 8
    data = b"\x00" * (int(seconds * rate) * block)
    if extensible:
        guid_tail = b"\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"
        fmt = struct.pack("<HHIIHH", 0xFFFE, channels, rate, rate * block, block, bits)
        fmt += struct.pack("<HHI", 22, bits, 0x4) + struct.pack("<H", code) + guid_tail
    else:
        fmt = struct.pack("<HHIIHH", code, channels, rate, rate * block, block, bits)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(data)) + data
    return b"RIFF" + struct.pack("<I", len(body)) + body


@pytest.fixture
def make_png():
    return png_bytes


@pytest.fixture
def make_wav():
    return wav_bytes

"""Image checks: really decode the file, so damaged or hostile images are rejected at import."""

import io
import struct
from dataclasses import dataclass

from PIL import BmpImagePlugin, Image, JpegImagePlugin, PngImagePlugin, UnidentifiedImageError

from datasets.formats.errors import FormatError, check_size

MAX_IMAGE_BYTES = 5 * 1024 * 1024
# The pixel limit follows the byte limit: PIXELS_PER_LIMIT_BYTE pixels per byte allowed, i.e.
# 2 bits per pixel for a file at the limit. A camera JPEG takes 2-4 bits per pixel, so every
# real photo that fits the byte limit stays under it (5 MiB: 21 MP, above a 20 MP camera's
# 5472x3648); an image over it compresses unusually hard (flat areas, a decompression bomb:
# a 139 KB PNG of 7000x7000 costs seconds of CPU to decode). It grows with the operator's
# byte limit, up to the ceiling, far below what exhausts memory when decoded (RGBA 50 MP is
# ~200 MB).
PIXELS_PER_LIMIT_BYTE = 4
MAX_IMAGE_PIXELS_CEILING = 50_000_000

# Pillow names phone-camera JPEGs with a depth map "MPO"; they are JPEG files to users.
_FORMATS = {"JPEG": "JPEG", "MPO": "JPEG", "PNG": "PNG", "BMP": "BMP"}
# The plugins of the accepted formats, tried in turn on the header (each refuses another
# format's signature with SyntaxError).
_HEADER_READERS = (PngImagePlugin.PngImageFile, JpegImagePlugin.jpeg_factory, BmpImagePlugin.BmpImageFile)


def max_image_pixels(max_bytes: int) -> int:
    """The pixel limit of an image whose file may be ``max_bytes`` long (see above)."""
    return max(1, min(max_bytes * PIXELS_PER_LIMIT_BYTE, MAX_IMAGE_PIXELS_CEILING))


@dataclass(frozen=True)
class ImageInfo:
    format: str  # "JPEG" | "PNG" | "BMP"
    width: int
    height: int
    channels: int = 3  # VOC <depth>


def inspect_image(data: bytes, *, max_bytes: int = MAX_IMAGE_BYTES, max_pixels: int | None = None) -> ImageInfo:
    """Decode ``data`` fully and return its format and size, or raise FormatError.

    The size the header declares is checked before anything is decoded; ``max_pixels``
    defaults to ``max_image_pixels(max_bytes)``.
    """
    check_size(data, max_bytes=max_bytes, what="image")
    limit = max_image_pixels(max_bytes) if max_pixels is None else max_pixels
    try:
        declared = _declared_size(data)
        if declared is not None:
            _check_pixels(*declared, limit)
        with Image.open(io.BytesIO(data)) as im:
            fmt = im.format or ""
            width, height = im.size
            # Palette images are colour; VOC <depth> counts decoded channels, alpha aside.
            channels = 1 if len(im.getbands()) == 1 and im.mode != "P" else 3
            _check_header(fmt, width, height, limit)
            im.verify()  # checksums/structure, without decoding pixels
        # verify() leaves the image unusable; reopen and decode every pixel so that
        # truncated JPEGs (which verify() does not notice) fail here.
        with Image.open(io.BytesIO(data)) as im:
            im.load()
    except FormatError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        # Pillow's own guard (MAX_IMAGE_PIXELS, set from the same limit at start-up), or its
        # warning where warnings are errors: a refusal like any other, never a 500.
        raise FormatError(f"image is too large to decode safely ({exc})")
    except UnidentifiedImageError:
        raise FormatError("not a readable image (JPG, JPEG, PNG or BMP expected)")
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError) as exc:
        # Pillow reports damage with a mix of these; "image file is truncated" is an OSError.
        raise FormatError(f"image is damaged: {exc}")
    return ImageInfo(format=_FORMATS[fmt], width=width, height=height, channels=channels)


def _declared_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from the header of a PNG, JPEG or BMP, nothing decoded; None otherwise.

    Read by the format's plugin directly: Image.open would stop a large image with its
    decompression-bomb check first, whose message does not say the image's size.
    """
    for reader in _HEADER_READERS:
        try:
            with reader(io.BytesIO(data)) as im:
                return im.size
        except (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError, struct.error):
            continue  # not this format, or a damaged header: Image.open below says which
    return None


def _check_pixels(width: int, height: int, max_pixels: int) -> None:
    if width * height > max_pixels:
        raise FormatError(
            f"image is {width}×{height} pixels ({width * height / 1e6:.1f} MP), "
            f"more than the limit of {max_pixels / 1e6:.1f} MP"
        )


def _check_header(fmt: str, width: int, height: int, max_pixels: int) -> None:
    if fmt not in _FORMATS:
        raise FormatError(f"image format {fmt or 'unknown'} is not supported (JPG, JPEG, PNG or BMP expected)")
    if width <= 0 or height <= 0:
        raise FormatError(f"image has no pixels ({width}x{height})")
    _check_pixels(width, height, max_pixels)

"""Image checks: really decode the file, so damaged or hostile images are rejected at import."""

import io
import warnings
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

from datasets.formats.errors import FormatError, check_size

MAX_IMAGE_BYTES = 5 * 1024 * 1024
# 50 megapixels is far above any sensible training image and far below what exhausts memory
# when decoded (an RGBA 50 MP image is ~200 MB).
MAX_IMAGE_PIXELS = 50_000_000

# Pillow names phone-camera JPEGs with a depth map "MPO"; they are JPEG files to users.
_FORMATS = {"JPEG": "JPEG", "MPO": "JPEG", "PNG": "PNG", "BMP": "BMP"}


@dataclass(frozen=True)
class ImageInfo:
    format: str  # "JPEG" | "PNG" | "BMP"
    width: int
    height: int
    channels: int = 3  # VOC <depth>


def inspect_image(
    data: bytes, *, max_bytes: int = MAX_IMAGE_BYTES, max_pixels: int = MAX_IMAGE_PIXELS
) -> ImageInfo:
    """Decode ``data`` fully and return its format and size, or raise FormatError."""
    check_size(data, max_bytes=max_bytes, what="image")
    try:
        # Warnings as errors turns Pillow's DecompressionBombWarning into an exception too;
        # our own pixel check below runs first for the sizes we care about.
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as im:
                fmt = im.format or ""
                width, height = im.size
                # Palette images are colour; VOC <depth> counts decoded channels, alpha aside.
                channels = 1 if len(im.getbands()) == 1 and im.mode != "P" else 3
                _check_header(fmt, width, height, max_pixels)
                im.verify()  # checksums/structure, without decoding pixels
            # verify() leaves the image unusable; reopen and decode every pixel so that
            # truncated JPEGs (which verify() does not notice) fail here.
            with Image.open(io.BytesIO(data)) as im:
                im.load()
    except FormatError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise FormatError(f"image is too large to decode safely ({exc})")
    except UnidentifiedImageError:
        raise FormatError("not a readable image (JPG, JPEG, PNG or BMP expected)")
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError) as exc:
        # Pillow reports damage with a mix of these; "image file is truncated" is an OSError.
        raise FormatError(f"image is damaged: {exc}")
    return ImageInfo(format=_FORMATS[fmt], width=width, height=height, channels=channels)


def _check_header(fmt: str, width: int, height: int, max_pixels: int) -> None:
    if fmt not in _FORMATS:
        raise FormatError(f"image format {fmt or 'unknown'} is not supported (JPG, JPEG, PNG or BMP expected)")
    if width <= 0 or height <= 0:
        raise FormatError(f"image has no pixels ({width}x{height})")
    if width * height > max_pixels:
        raise FormatError(
            f"image is {width}x{height} pixels ({width * height / 1e6:.0f} MP), "
            f"more than the {max_pixels / 1e6:.0f} MP limit"
        )

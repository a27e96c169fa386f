"""WAV checks for sound classification: 16-bit PCM, longer than 1 s, at most 4 MB.

The RIFF header is parsed here rather than with the stdlib ``wave`` module because
Python 3.11's ``wave`` refuses WAVE_FORMAT_EXTENSIBLE (which the guide's "all subformats of
WAV" covers and many recorders write) and, for float files, says only "unknown format: 3".
"""

import struct
from dataclasses import dataclass

from datasets.formats.errors import FormatError, check_size

MAX_WAV_BYTES = 4 * 1024 * 1024

_PCM = 0x0001
_EXTENSIBLE = 0xFFFE
_FORMAT_NAMES = {
    0x0001: "PCM",
    0x0002: "Microsoft ADPCM",
    0x0003: "IEEE float",
    0x0006: "A-law",
    0x0007: "mu-law",
    0x0011: "IMA ADPCM",
    0x0055: "MP3",
}


@dataclass(frozen=True)
class SoundInfo:
    duration: float  # seconds
    sample_rate: int
    channels: int
    bit_depth: int


def inspect_wav(data: bytes, *, max_bytes: int = MAX_WAV_BYTES, min_seconds: float = 1.0) -> SoundInfo:
    """Validate a WAV file's header and length; raise FormatError with the reason."""
    check_size(data, max_bytes=max_bytes, what="sound file")
    if len(data) < 12 or data[8:12] != b"WAVE" or data[:4] not in (b"RIFF", b"RIFX", b"RF64"):
        raise FormatError("not a WAV file (no RIFF/WAVE header)")
    if data[:4] != b"RIFF":
        raise FormatError(f"{data[:4].decode()} WAV files are not supported; save as a standard RIFF WAV")

    fmt: tuple[int, int, int, int, int] | None = None  # code, channels, rate, block_align, bits
    data_size: int | None = None
    pos = 12
    while pos + 8 <= len(data):
        chunk_id, size = data[pos : pos + 4], struct.unpack_from("<I", data, pos + 4)[0]
        body = data[pos + 8 : pos + 8 + size]
        if chunk_id == b"fmt ":
            fmt = _parse_fmt(body)
        elif chunk_id == b"data":
            # A truncated file declares more than it holds: count only what is there.
            data_size = len(body)
            break
        pos += 8 + size + (size & 1)  # chunks are word-aligned

    if fmt is None:
        raise FormatError("WAV file has no 'fmt ' chunk")
    code, channels, rate, block_align, bits = fmt
    if code != _PCM:
        name = _FORMAT_NAMES.get(code, f"format code 0x{code:04x}")
        raise FormatError(f"not a 16-bit PCM WAV (found {bits}-bit {name}); save it as 16-bit PCM")
    if bits != 16:
        raise FormatError(f"not a 16-bit WAV (found {bits}-bit PCM); save it as 16-bit PCM")
    if channels < 1 or rate < 1 or block_align != channels * 2:
        raise FormatError(
            f"WAV header is inconsistent (channels {channels}, rate {rate} Hz, block align {block_align})"
        )
    if data_size is None:
        raise FormatError("WAV file has no 'data' chunk")
    duration = data_size // block_align / rate
    if duration <= min_seconds:
        raise FormatError(f"sound is {duration:.2f} s long; it must be longer than {min_seconds:g} s")
    return SoundInfo(duration=duration, sample_rate=rate, channels=channels, bit_depth=bits)


def _parse_fmt(body: bytes) -> tuple[int, int, int, int, int]:
    if len(body) < 16:
        raise FormatError("WAV 'fmt ' chunk is too short")
    code, channels, rate, _byte_rate, block_align, bits = struct.unpack_from("<HHIIHH", body)
    if code == _EXTENSIBLE:
        # WAVEFORMATEXTENSIBLE: cbSize, validBits, channelMask, then a GUID whose first two
        # bytes are the real format code (PCM = 1, IEEE float = 3).
        if len(body) < 40:
            raise FormatError("WAV extensible 'fmt ' chunk is too short")
        code = struct.unpack_from("<H", body, 24)[0]
    return code, channels, rate, block_align, bits

import io
import wave

import numpy as np
import pytest

from datasets.formats.errors import FormatError
from datasets.formats.sound import inspect_wav


def test_16_bit_pcm(make_wav):
    info = inspect_wav(make_wav(seconds=1.5, rate=8000, channels=2))
    assert (info.sample_rate, info.channels, info.bit_depth) == (8000, 2, 16)
    assert info.duration == pytest.approx(1.5)


def test_stdlib_written_wav():
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(np.zeros(24000, "<i2").tobytes())
    assert inspect_wav(buf.getvalue()).duration == pytest.approx(1.5)


def test_extensible_16_bit_pcm_is_accepted(make_wav):
    assert inspect_wav(make_wav(extensible=True)).bit_depth == 16


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"bits": 8}, "not a 16-bit WAV (found 8-bit PCM)"),
        ({"bits": 24}, "found 24-bit PCM"),
        ({"bits": 32}, "found 32-bit PCM"),
        ({"bits": 32, "code": 3}, "not a 16-bit PCM WAV (found 32-bit IEEE float)"),
        ({"bits": 32, "code": 3, "extensible": True}, "found 32-bit IEEE float"),
        ({"bits": 8, "code": 7}, "mu-law"),
        ({"seconds": 0.5}, "0.50 s long; it must be longer than 1 s"),
        ({"seconds": 1.0}, "must be longer than 1 s"),
    ],
)
def test_rejected_wavs(make_wav, kwargs, reason):
    with pytest.raises(FormatError) as exc:
        inspect_wav(make_wav(**kwargs))
    assert reason in exc.value.reason


def test_size_limit(make_wav):
    data = make_wav(seconds=3, rate=44100, channels=2)  # ~516 KB
    with pytest.raises(FormatError) as exc:
        inspect_wav(data, max_bytes=256 * 1024)
    assert "larger than the 256 KB limit" in exc.value.reason


@pytest.mark.parametrize(
    ("data", "reason"),
    [(b"", "empty"), (b"ID3\x03" + b"\x00" * 100, "not a WAV file"), (b"RIFF\x04\x00\x00\x00WAVE", "no 'fmt '")],
)
def test_not_wav(data, reason):
    with pytest.raises(FormatError) as exc:
        inspect_wav(data)
    assert reason in exc.value.reason


def test_truncated_data_counts_only_what_is_there(make_wav):
    data = make_wav(seconds=2.0, rate=8000)
    with pytest.raises(FormatError) as exc:
        inspect_wav(data[: 44 + 8000])  # declares 2 s, holds 0.5 s
    assert "0.50 s long" in exc.value.reason

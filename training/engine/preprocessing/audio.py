"""WAV bytes -> features, shared by the sound trainer and predictor (numpy only).

decode (16-bit PCM only) -> mono float -> crop -> resample to 16 kHz (windowed-sinc) ->
STFT -> mel filterbank -> log-mel, MFCC and frame statistics. No librosa/numba: serving
must not pay a JIT compile, and training must compute exactly what serving computes.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import numpy as np

from . import InputError

SAMPLE_RATE = 16_000
N_FFT = 512
HOP = 160
N_MELS = 64
N_MFCC = 20
RESAMPLE_HALF_WIDTH = 16  # zero crossings each side of the sinc kernel

DEFAULT_CONFIG: dict[str, Any] = {
    "sample_rate": SAMPLE_RATE,
    "n_fft": N_FFT,
    "hop": HOP,
    "n_mels": N_MELS,
    "n_mfcc": N_MFCC,
    "max_seconds": 4.0,  # longer clips are cropped (from the start)
    "fixed_seconds": 2.0,  # spectrogram models pad/crop to exactly this length
}


def decode_wav(data: bytes) -> tuple[np.ndarray, int]:
    """(mono float64 in [-1, 1], sample rate). Rejects anything but 16-bit PCM WAV."""
    import soundfile

    if not isinstance(data, bytes | bytearray | memoryview) or len(data) < 44:
        raise InputError("expected a WAV file")
    if bytes(data[:4]) not in (b"RIFF", b"RIFX", b"RF64") or bytes(data[8:12]) != b"WAVE":
        raise InputError("not a WAV file (missing RIFF/WAVE header)")
    try:
        info = soundfile.info(io.BytesIO(bytes(data)))
        if info.subtype != "PCM_16":
            raise InputError(f"only 16-bit PCM WAV is supported, got {info.subtype}")
        samples, rate = soundfile.read(io.BytesIO(bytes(data)), dtype="int16", always_2d=True)
    except InputError:
        raise
    except Exception as exc:  # soundfile raises its own error types for corrupt data
        raise InputError(f"cannot decode WAV: {exc}") from None
    if samples.shape[0] == 0:
        raise InputError("WAV file has no samples")
    mono = samples.astype(np.float64).mean(axis=1) / 32768.0
    return mono, int(rate)


@lru_cache(maxsize=16)
def _polyphase_kernels(rate_in: int, rate_out: int) -> tuple[int, int, int, np.ndarray]:
    """(up, down, half, table[up, 2*half]): the sinc taps for each output phase, cached."""
    g = math.gcd(rate_in, rate_out)
    up, down = rate_out // g, rate_in // g
    cutoff = min(1.0, rate_out / rate_in)  # of the input Nyquist
    half = int(math.ceil(RESAMPLE_HALF_WIDTH / cutoff))
    taps = np.arange(-half + 1, half + 1)
    frac = np.arange(up) / up  # row p: output sits p/up of an input step past its base sample
    dist = taps[None, :] - frac[:, None]
    beta = 8.6
    window = np.i0(beta * np.sqrt(np.clip(1.0 - (dist / (half + 1)) ** 2, 0.0, 1.0))) / np.i0(beta)
    return up, down, half, cutoff * np.sinc(cutoff * dist) * window


def resample(signal: np.ndarray, rate_in: int, rate_out: int = SAMPLE_RATE) -> np.ndarray:
    """Band-limited (Kaiser-windowed sinc) polyphase resampling, evaluated directly: exact
    and deterministic, the same numbers in training and serving."""
    if rate_in == rate_out:
        return signal.astype(np.float64, copy=False)
    up, down, half, table = _polyphase_kernels(rate_in, rate_out)
    n_out = int(len(signal) * up // down)
    out = np.empty(n_out, dtype=np.float64)
    padded = np.concatenate([np.zeros(half), signal.astype(np.float64), np.zeros(half + 1)])
    taps = np.arange(-half + 1, half + 1)
    chunk = max(1, 2_000_000 // (2 * half))
    for start in range(0, n_out, chunk):
        k = np.arange(start, min(n_out, start + chunk), dtype=np.int64)
        base = (k * down) // up
        phase = (k * down) % up
        pos = base[:, None] + taps[None, :] + half
        out[start : start + len(k)] = np.einsum("ij,ij->i", padded[pos], table[phase])
    return out


def load_signal(data: bytes, config: Mapping[str, Any]) -> np.ndarray:
    """Decoded, cropped to max_seconds and resampled to the configured rate."""
    signal, rate = decode_wav(data)
    keep = int(math.ceil(float(config["max_seconds"]) * rate))
    signal = signal[:keep]
    return resample(signal, rate, int(config["sample_rate"]))


def pad_or_crop(signal: np.ndarray, length: int) -> np.ndarray:
    if len(signal) >= length:
        return signal[:length]
    return np.concatenate([signal, np.zeros(length - len(signal))])


@lru_cache(maxsize=8)
def mel_filterbank(sample_rate: int, n_fft: int, n_mels: int) -> np.ndarray:
    """[n_mels, n_fft//2+1] triangular filters on the HTK mel scale, area-normalised (Slaney)."""

    def hz_to_mel(hz):
        return 2595.0 * np.log10(1.0 + np.asarray(hz) / 700.0)

    def mel_to_hz(mel):
        return 700.0 * (10.0 ** (np.asarray(mel) / 2595.0) - 1.0)

    freqs = np.linspace(0.0, sample_rate / 2.0, n_fft // 2 + 1)
    edges = mel_to_hz(np.linspace(hz_to_mel(0.0), hz_to_mel(sample_rate / 2.0), n_mels + 2))
    bank = np.zeros((n_mels, len(freqs)))
    for m in range(n_mels):
        lo, mid, hi = edges[m], edges[m + 1], edges[m + 2]
        up = (freqs - lo) / max(mid - lo, 1e-9)
        down = (hi - freqs) / max(hi - mid, 1e-9)
        bank[m] = np.maximum(0.0, np.minimum(up, down)) * (2.0 / (hi - lo))
    return bank


@lru_cache(maxsize=4)
def dct_matrix(n_mfcc: int, n_mels: int) -> np.ndarray:
    """Orthonormal DCT-II rows [n_mfcc, n_mels]."""
    n = np.arange(n_mels)
    k = np.arange(n_mfcc)[:, None]
    mat = np.cos(np.pi / n_mels * (n + 0.5) * k) * np.sqrt(2.0 / n_mels)
    mat[0] /= np.sqrt(2.0)
    return mat


def frames(signal: np.ndarray, n_fft: int, hop: int) -> np.ndarray:
    """[T, n_fft] centred frames (reflect-free zero padding keeps short clips defined)."""
    padded = np.concatenate([np.zeros(n_fft // 2), signal, np.zeros(n_fft // 2)])
    count = 1 + max(0, (len(padded) - n_fft) // hop)
    idx = np.arange(n_fft)[None, :] + hop * np.arange(count)[:, None]
    return padded[idx]


def power_spectrum(signal: np.ndarray, config: Mapping[str, Any]) -> np.ndarray:
    n_fft, hop = int(config["n_fft"]), int(config["hop"])
    window = np.hanning(n_fft + 1)[:-1]  # periodic Hann
    return np.abs(np.fft.rfft(frames(signal, n_fft, hop) * window, axis=1)) ** 2


def log_mel(signal: np.ndarray, config: Mapping[str, Any]) -> np.ndarray:
    """[n_mels, T] log-mel spectrogram in dB (floored at -100 dB)."""
    bank = mel_filterbank(int(config["sample_rate"]), int(config["n_fft"]), int(config["n_mels"]))
    mel = bank @ power_spectrum(signal, config).T
    return 10.0 * np.log10(np.maximum(mel, 1e-10))


def _delta(x: np.ndarray) -> np.ndarray:
    if x.shape[1] < 2:
        return np.zeros_like(x)
    return np.gradient(x, axis=1)


def summary_features(signal: np.ndarray, config: Mapping[str, Any]) -> np.ndarray:
    """float32 [D]: mean/std of log-mel, MFCC, delta-MFCC, and ZCR, RMS, centroid, bandwidth."""
    sr = int(config["sample_rate"])
    n_fft, hop = int(config["n_fft"]), int(config["hop"])
    power = power_spectrum(signal, config)  # [T, F]
    bank = mel_filterbank(sr, n_fft, int(config["n_mels"]))
    lm = 10.0 * np.log10(np.maximum(bank @ power.T, 1e-10))  # [M, T]
    mfcc = dct_matrix(int(config["n_mfcc"]), int(config["n_mels"])) @ lm
    dmfcc = _delta(mfcc)
    framed = frames(signal, n_fft, hop)
    signs = np.signbit(framed)
    zcr = np.mean(signs[:, 1:] != signs[:, :-1], axis=1)
    rms = np.sqrt(np.mean(framed**2, axis=1))
    freqs = np.linspace(0.0, sr / 2.0, n_fft // 2 + 1)
    mag = np.sqrt(power)
    total = np.maximum(mag.sum(axis=1), 1e-10)
    centroid = (mag @ freqs) / total
    bandwidth = np.sqrt((mag * (freqs[None, :] - centroid[:, None]) ** 2).sum(axis=1) / total)
    parts = [
        lm.mean(axis=1),
        lm.std(axis=1),
        mfcc.mean(axis=1),
        mfcc.std(axis=1),
        dmfcc.mean(axis=1),
        dmfcc.std(axis=1),
    ]
    for series in (zcr, rms, centroid / sr, bandwidth / sr):
        parts.append(np.array([series.mean(), series.std()]))
    return np.concatenate(parts).astype(np.float32)


def fixed_log_mel(signal: np.ndarray, config: Mapping[str, Any]) -> np.ndarray:
    """float32 [1, n_mels, T] log-mel of the clip padded/cropped to fixed_seconds."""
    length = int(round(float(config["fixed_seconds"]) * int(config["sample_rate"])))
    return log_mel(pad_or_crop(signal, length), config).astype(np.float32)[None, :, :]


def features_from_signal(signal: np.ndarray, config: Mapping[str, Any]) -> np.ndarray:
    """The model input for one decoded clip, by ``config["features"]``: "summary" or "log_mel"."""
    if config.get("features", "summary") == "log_mel":
        return fixed_log_mel(signal, config)
    return summary_features(signal, config)


def features_from_wav(data: bytes, config: Mapping[str, Any]) -> np.ndarray:
    """The model input for one WAV: decode, crop, resample, then features_from_signal."""
    return features_from_signal(load_signal(data, config), config)

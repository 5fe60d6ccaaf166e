"""Reading WAV files: :func:`read_wav` -> (float32 samples in [-1, 1], rate), and :func:`resample`.

Reading uses :func:`scipy.io.wavfile.read` (PCM 8/16/24/32-bit and float WAVs).
Handling of awkward files, all documented in ``docs/classification.md``:

- a file that is not a RIFF/WAVE file, or is unreadable: :class:`DataError` naming it;
- zero samples: :class:`DataError` (a silent file has no features to classify);
- more than one channel: averaged to mono (``stereo="mix"``, the default) or refused
  (``stereo="refuse"``);
- another sample rate than the configured one: resampled with a polyphase filter,
  :func:`scipy.signal.resample_poly` (``rate_mismatch="resample"``, the default), or
  refused (``rate_mismatch="refuse"``);
- shorter than one analysis window: zero-padded to one frame;
- a declared sample rate outside MIN_RATE..MAX_RATE Hz (1 kHz .. 384 kHz): refused before
  any resampling (a header claiming 1 Hz would otherwise be upsampled 8000-fold).
"""
from __future__ import annotations

import math
import struct
import warnings
from pathlib import Path
from typing import Callable

import numpy as np

from rnnkit.errors import DataError

__all__ = ["MIN_RATE", "MAX_RATE", "WAV_SUFFIXES", "OTHER_AUDIO_SUFFIXES", "pcm_to_float", "read_wav", "resample"]

MIN_RATE = 1_000     # Hz: below this no speech or sound file is real; a header error
MAX_RATE = 384_000   # Hz: the highest rate audio hardware records
WAV_SUFFIXES = (".wav", ".wave")  # file names read as WAV (any case)
# other audio formats, not read: a folder's file with one of these is named when skipped, never dropped unsaid
OTHER_AUDIO_SUFFIXES = (".flac", ".mp3", ".ogg", ".oga", ".opus", ".m4a", ".aac", ".aif", ".aiff", ".aifc",
                        ".wma", ".au", ".snd", ".caf", ".amr", ".webm")


def _check_fmt(path: Path) -> None:
    """Refuse a RIFF/WAVE header whose ``fmt`` chunk is missing or absurd, before scipy reads it.

    Reads only the chunk headers (8 bytes each, skipping the data): channels must be
    1..64, bits per sample 8..64, the sample rate MIN_RATE..MAX_RATE, and ``fmt`` must
    come before ``data`` (as scipy needs).
    """
    with path.open("rb") as fh:
        head = fh.read(12)
        if len(head) < 12 or head[:4] not in (b"RIFF", b"RIFX") or head[8:12] != b"WAVE":
            raise DataError(f"{path}: not a readable WAV file (no RIFF/WAVE header)")
        order = "<" if head[:4] == b"RIFF" else ">"
        while True:
            chunk = fh.read(8)
            if len(chunk) < 8:
                raise DataError(f"{path}: not a readable WAV file (no fmt chunk)")
            kind, size = chunk[:4], struct.unpack(order + "I", chunk[4:])[0]
            if kind == b"data":
                raise DataError(f"{path}: not a readable WAV file (data chunk before the fmt chunk)")
            if kind == b"fmt ":
                fmt = fh.read(16)
                if len(fmt) < 16:
                    raise DataError(f"{path}: not a readable WAV file (fmt chunk is truncated)")
                _, channels, rate, _, _, bits = struct.unpack(order + "HHIIHH", fmt)
                if not 1 <= channels <= 64 or not 8 <= bits <= 64:
                    raise DataError(f"{path}: declares {channels} channels of {bits} bits; not a usable WAV")
                if not MIN_RATE <= rate <= MAX_RATE:
                    raise DataError(f"{path}: declares a sample rate of {rate} Hz; rnnkit reads {MIN_RATE}..{MAX_RATE} Hz")
                return
            fh.seek(size + (size & 1), 1)  # chunks are padded to even sizes


def pcm_to_float(data: np.ndarray) -> np.ndarray:
    """Samples as float32 in [-1, 1]: 8-bit PCM is unsigned around 128, other integer PCM is
    divided by its type's full scale (int16 by 32768), floats are kept as they are."""
    if data.dtype == np.uint8:
        return (data.astype(np.float32) - 128.0) / 128.0
    if np.issubdtype(data.dtype, np.integer):
        return data.astype(np.float32) / float(-np.iinfo(data.dtype).min)  # int16 -> /32768
    return data.astype(np.float32)


def read_wav(path: str | Path, sample_rate: int | None = None, stereo: str = "mix",
             rate_mismatch: str = "resample", max_seconds: float | None = None,
             warn: Callable[[str], None] | None = None) -> tuple[np.ndarray, int]:
    """Read a WAV file -> (samples (N,) float32 in [-1, 1], rate).

    With ``sample_rate`` given, a file at another rate is resampled (or refused when
    ``rate_mismatch="refuse"``). With ``max_seconds``, a longer file is cut to its first
    ``max_seconds`` (one line to ``warn`` saying so). See the module docstring for the
    other rules.
    """
    from scipy.io import wavfile

    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such WAV file")
    _check_fmt(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # scipy warns on unknown chunks; they are harmless
            try:  # memory-mapped where scipy can (not 24-bit): a long file is not read whole
                rate, data = wavfile.read(path, mmap=max_seconds is not None)
            except ValueError:
                if max_seconds is None:
                    raise
                rate, data = wavfile.read(path)
    except Exception as err:  # scipy's parser fails in many ways on a broken header
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise DataError(f"{path}: not a readable WAV file ({first})") from None
    if not MIN_RATE <= int(rate) <= MAX_RATE:
        raise DataError(f"{path}: declares a sample rate of {rate} Hz; rnnkit reads {MIN_RATE}..{MAX_RATE} Hz")
    if max_seconds is not None and data.shape[0] > int(max_seconds * rate):
        if warn is not None:
            warn(f"{path}: {data.shape[0] / rate:.1f} s long; only its first {max_seconds:g} s are used")
        data = data[:int(max_seconds * rate)]
    x = pcm_to_float(np.array(data))  # a copy: the memory map is closed with the file
    if x.ndim == 2:  # (N, channels)
        if x.shape[1] > 1 and stereo == "refuse":
            raise DataError(f"{path}: has {x.shape[1]} channels; only mono audio is accepted (stereo='refuse')")
        x = x.mean(axis=1)  # (N,)
    if x.shape[0] == 0:
        raise DataError(f"{path}: has zero audio samples")
    if not np.isfinite(x).all():
        raise DataError(f"{path}: holds NaN or infinite samples")
    if sample_rate is not None and rate != sample_rate:
        if rate_mismatch == "refuse":
            raise DataError(f"{path}: sample rate is {rate} Hz but {sample_rate} Hz is required (rate_mismatch='refuse')")
        x = resample(x, rate, sample_rate)
        rate = sample_rate
    return x, int(rate)


def resample(x: np.ndarray, orig_rate: int, target_rate: int) -> np.ndarray:
    """Polyphase resampling (anti-aliased) from ``orig_rate`` to ``target_rate``."""
    from scipy.signal import resample_poly

    if orig_rate == target_rate:
        return x
    g = math.gcd(int(orig_rate), int(target_rate))
    return resample_poly(x, target_rate // g, orig_rate // g).astype(np.float32)

"""Training-time audio augmentation: speed, tempo, pitch, shift, gain, noise, spectrogram masks.

Every function takes a NumPy generator and draws from nothing else, so a seeded
generator gives the same output twice. Signals are float32 (N,) at ``rate`` Hz; each
step keeps the sample rate, and all but ``change_speed`` and ``change_tempo`` (whose
point is to change the duration) keep the length N.

- speed by s:  y(t) = x(s t): linear-interpolation resampling, pitch and duration change together
  (length N/s, every frequency times s), like a tape played faster;
- tempo by s:  WSOLA (waveform-similarity overlap-add), analysis hop about s*H,
  synthesis hop H: length N/s, pitch kept (each window is copied unchanged, only
  their spacing changes);
- pitch by k semitones, p = 2^(k/12): speed by p, then tempo by 1/p; the length is
  cut or zero-padded back to exactly N, the frequencies are times p;
- shift: a roll of up to ``max_ms`` either way with zeros coming in;
- gain:  y = 10^(g/20) x with g drawn uniformly in [lo, hi] dB;
- channel: a smooth random gain curve over frequency (:mod:`rnnkit.data.audio_eq`, off by
  default), after the gain;
- noise: y = x + n, n white Gaussian scaled so that exactly
  10 log10(mean(x^2) / mean(n^2)) = SNR dB, the SNR drawn from the given list;
- masks (SpecAugment, Park et al. 2019) on a (T, F) log-mel spectrogram: ``n`` time
  masks of width w ~ U{1..W} frames at a uniform start, then ``n`` frequency masks
  of width ~ U{1..W} bands, filled with the spectrogram's mean; a width is capped at
  half the axis so that something always remains.

:func:`augment_signal` first (with probability ``aug_vocoder``, when set) replaces the
voice source (:func:`rnnkit.data.audio_vocoder.lpc_resynthesize`), then applies the signal
steps in the order above, each with probability
``aug_prob`` (the SpecAugment masks too, in ``features_from_signal``), with the ranges of
an :class:`rnnkit.data.audio.AudioConfig` (its ``aug_*`` fields); an empty range
(``[]`` in TOML) or None, an empty SNR list, or 0 masks turns that step off.
"""
from __future__ import annotations

import math

import numpy as np

from rnnkit.data.audio_hiband import hiband_gain
from rnnkit.data.audio_eq import random_eq
from rnnkit.data.audio_vocoder import lpc_resynthesize

__all__ = ["change_speed", "change_tempo", "shift_pitch", "time_shift", "random_gain", "add_noise",
           "mask_spectrogram", "augment_signal"]


def _step(value: float) -> float:
    """Round a rate factor to 0.01 steps: the polyphase resampler's ratio then stays small."""
    return round(float(value), 2)


def change_speed(x: np.ndarray, rate: int, factor: float) -> np.ndarray:
    """Play ``factor`` times faster: (N,) -> (round(N/factor),), frequencies times ``factor``.

    y[j] = x(j * factor) by linear interpolation: no anti-aliasing filter, which for the
    small factors of augmentation (0.8..1.25) costs little and is 20 times faster than
    the polyphase resampler. ``rate`` is unused (kept for a uniform signature).
    """
    x = np.asarray(x, dtype=np.float32)
    factor = _step(factor)
    if factor == 1.0:
        return x
    n_out = max(1, int(round(x.size / factor)))
    return np.interp(np.arange(n_out) * factor, np.arange(x.size), x).astype(np.float32)  # (n_out,)


def change_tempo(x: np.ndarray, rate: int, factor: float, win_ms: float = 30.0) -> np.ndarray:
    """WSOLA time stretch: (N,) -> (round(N/factor),), the pitch kept.

    Output frame k (Hann window W, hop H = W/2) is the input window starting near
    k*factor*H, moved by up to H/2 either way to the place whose samples best continue
    the previous copied frame (largest inner product with the input that followed it),
    so that overlapping frames stay in phase.
    """
    x = np.asarray(x, dtype=np.float32)
    if abs(factor - 1.0) < 1e-6:
        return x
    win = max(8, int(round(rate * win_ms / 1000)) // 2 * 2)
    hop, tol = win // 2, win // 4
    n_out = max(1, int(round(x.size / factor)))
    n_frames = int(math.ceil(n_out / hop)) + 1
    padded = np.pad(x, (tol, win + tol + int(math.ceil(n_frames * hop * factor))))  # x starts at tol
    window = np.hanning(win).astype(np.float32)                                      # (W,)
    out = np.zeros(n_frames * hop + win, dtype=np.float32)
    norm = np.zeros_like(out)
    prev = tol  # where the previous frame was taken from, in padded
    for k in range(n_frames):
        nominal = tol + int(round(k * hop * factor))
        if k == 0:
            start = nominal
        else:
            follow = padded[prev + hop:prev + hop + win]                                   # (W,)
            cands = np.lib.stride_tricks.sliding_window_view(
                padded[nominal - tol:nominal + tol + win], win)                            # (2 tol + 1, W)
            start = nominal - tol + int(np.argmax(cands @ follow))
        out[k * hop:k * hop + win] += window * padded[start:start + win]
        norm[k * hop:k * hop + win] += window
        prev = start
    return (out / np.maximum(norm, 1e-3))[:n_out]  # (round(N/factor),)


def _fit_length(y: np.ndarray, n: int) -> np.ndarray:
    return y[:n] if y.size >= n else np.pad(y, (0, n - y.size))


def shift_pitch(x: np.ndarray, rate: int, semitones: float) -> np.ndarray:
    """Raise the pitch by ``semitones`` (negative: lower), same length N and rate."""
    x = np.asarray(x, dtype=np.float32)
    p = _step(2.0 ** (semitones / 12.0))
    if p == 1.0:
        return x
    faster = change_speed(x, rate, p)           # (about N/p,), frequencies times p
    return _fit_length(change_tempo(faster, rate, 1.0 / p), x.size)  # (N,)


def time_shift(x: np.ndarray, rate: int, rng: np.random.Generator, max_ms: float) -> np.ndarray:
    """Roll by up to ``max_ms`` either way, zeros filling the gap: (N,) -> (N,)."""
    x = np.asarray(x, dtype=np.float32)
    limit = min(int(rate * max_ms / 1000), x.size - 1)
    shift = int(rng.integers(-limit, limit + 1)) if limit > 0 else 0
    out = np.zeros_like(x)
    if shift >= 0:
        out[shift:] = x[:x.size - shift]
    else:
        out[:shift] = x[-shift:]
    return out


def random_gain(x: np.ndarray, rng: np.random.Generator, low_db: float, high_db: float) -> np.ndarray:
    """Multiply by 10^(g/20), g ~ U[low_db, high_db]: (N,) -> (N,)."""
    gain_db = float(rng.uniform(low_db, high_db))
    return (np.asarray(x, dtype=np.float32) * np.float32(10.0 ** (gain_db / 20.0))).astype(np.float32)


def add_noise(x: np.ndarray, rng: np.random.Generator, snr_db: float) -> np.ndarray:
    """Add white Gaussian noise at exactly ``snr_db`` (signal power over noise power): (N,) -> (N,)."""
    x = np.asarray(x, dtype=np.float32)
    if not math.isfinite(snr_db):
        return x
    noise = rng.standard_normal(x.size)  # (N,) float64
    power = float(np.mean(x.astype(np.float64) ** 2))
    if power == 0.0:
        return x
    noise *= math.sqrt(power / 10.0 ** (snr_db / 10.0) / float(np.mean(noise ** 2)))
    return (x + noise).astype(np.float32)


def mask_spectrogram(spec: np.ndarray, rng: np.random.Generator, time_masks: int, time_width: int,
                     freq_masks: int, freq_width: int) -> tuple[np.ndarray, list[tuple[str, int, int]]]:
    """SpecAugment masks on (T, F) -> (masked copy (T, F), [(axis, start, width), ...]).

    axis is ``"time"`` (rows) or ``"freq"`` (columns); masked cells hold the mean of ``spec``.
    """
    out = np.array(spec, copy=True)
    fill = out.mean()
    spans = []
    for axis, count, widest in (("time", time_masks, time_width), ("freq", freq_masks, freq_width)):
        size = out.shape[0 if axis == "time" else 1]
        cap = min(widest, size // 2)
        for _ in range(count if cap >= 1 else 0):
            width = int(rng.integers(1, cap + 1))
            start = int(rng.integers(0, size - width + 1))
            if axis == "time":
                out[start:start + width, :] = fill
            else:
                out[:, start:start + width] = fill
            spans.append((axis, start, width))
    return out, spans


def augment_signal(x: np.ndarray, rate: int, rng: np.random.Generator, cfg) -> np.ndarray:
    """The signal steps of the module docstring, ranges from ``cfg`` (an AudioConfig).

    Each step that is on is applied with probability ``cfg.aug_prob`` (one draw per step
    and call, made whether or not the step then runs, so the draws stay aligned). Before
    them all, ``cfg.noise_floor_db`` (when set) lays white noise at that SNR under every
    call's signal, from ``rng`` (the training half of :func:`rnnkit.data.audio.noise_floor`).
    """
    y = np.asarray(x, dtype=np.float32)
    if getattr(cfg, "noise_floor_db", None):  # the noise floor, every time (rnnkit.data.audio.noise_floor)
        y = add_noise(y, rng, float(cfg.noise_floor_db))

    def chance() -> bool:
        return bool(rng.random() < cfg.aug_prob)

    if getattr(cfg, "aug_vocoder", 0.0) and rng.random() < cfg.aug_vocoder:  # first: a new source
        y = lpc_resynthesize(y, rate, rng)
    if cfg.aug_speed and chance():
        y = change_speed(y, rate, rng.uniform(*cfg.aug_speed))
    if cfg.aug_tempo and chance():
        y = change_tempo(y, rate, float(rng.uniform(*cfg.aug_tempo)))
    if cfg.aug_pitch and chance():
        y = shift_pitch(y, rate, float(rng.uniform(*cfg.aug_pitch)))
    if cfg.aug_shift_ms > 0 and chance():
        y = time_shift(y, rate, rng, cfg.aug_shift_ms)
    if cfg.aug_gain_db and chance():
        y = random_gain(y, rng, *cfg.aug_gain_db)
    if getattr(cfg, "aug_eq_db", 0.0) and chance():  # a random channel (rnnkit.data.audio_eq)
        y = random_eq(y, rate, rng, float(cfg.aug_eq_db), int(cfg.aug_eq_points))
    if getattr(cfg, "aug_hiband_db", 0.0) and chance():  # frication-band gain (rnnkit.data.audio_hiband)
        y = hiband_gain(y, rate, rng, float(cfg.aug_hiband_db))
    if len(cfg.aug_snr_db) and chance():
        y = add_noise(y, rng, float(cfg.aug_snr_db[int(rng.integers(len(cfg.aug_snr_db)))]))
    return y

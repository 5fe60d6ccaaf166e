"""Random channel (equaliser) augmentation: a smooth random gain curve over frequency.

A recording channel (microphone, line, codec) or a synthesiser's own spectral envelope
colours speech by a gain G(f) that varies slowly with frequency. To train a model that
does not lean on one colouring, each training utterance is filtered by a random one:

    m_j   = j * mel(r/2) / (P - 1)                 j = 0 .. P-1   control points, evenly
                                                    spaced on the mel scale (HTK's)
    g_j   ~ U[-D, D] dB                             one gain per control point
    g(f)  = PCHIP_j(g_j)(mel(f))                    monotone cubic interpolation in mel:
                                                    continuous slope, never beyond the
                                                    control points, so |g(f)| <= D
    y     = irfft(rfft(x) * 10^(g(f_k)/20), N)      (N,) -> (N,), f_k the rfft bin frequencies

P = ``points``, D = ``max_db`` (``audio.aug_eq_points``, ``audio.aug_eq_db``). The filter
is zero-phase and applied to the whole utterance at once (a circular convolution whose
impulse response is short, since G is smooth). In
:func:`rnnkit.data.audio_augment.augment_signal` it runs after the random gain and before
the additive noise, so the noise stays white while the speech is coloured.

Note what it can and cannot change: per-utterance normalisation (``audio.normalize``)
subtracts each cepstral coefficient's mean over time, and a fixed gain curve adds a
constant to every log-mel band (nearly: G is smooth across one filter's width), hence a
constant to every cepstrum; on a clean signal the curve is almost normalised away. What it
does change is how the speech stands against what is added after it (the noise, per band)
and which bands fall under the ``1e-10`` log floor.
"""
from __future__ import annotations

import numpy as np

from rnnkit.errors import DataError

__all__ = ["eq_curve_db", "random_eq", "check_eq"]


def check_eq(max_db: float, points: int) -> None:
    """One-line errors for ``audio.aug_eq_db`` and ``audio.aug_eq_points``."""
    if not (np.isfinite(max_db) and 0.0 <= max_db <= 24.0):
        raise DataError(f"audio aug_eq_db must be in 0..24 dB (0: off), got {max_db}")
    if not 2 <= int(points) <= 32:
        raise DataError(f"audio aug_eq_points must be in 2..32, got {points}")


def eq_curve_db(freqs_hz: np.ndarray, rate: int, gains_db: np.ndarray) -> np.ndarray:
    """The gain curve g(f) in dB at ``freqs_hz`` (K,) -> (K,), from P control gains (P,)
    evenly spaced on the mel scale from 0 to the Nyquist frequency ``rate / 2``."""
    from scipy.interpolate import PchipInterpolator

    from rnnkit.data.audio import hz_to_mel  # here: rnnkit.data.audio imports this module

    gains_db = np.asarray(gains_db, dtype=np.float64)
    knots = np.linspace(0.0, float(hz_to_mel(rate / 2.0)), gains_db.size)          # (P,) mel
    mel = np.clip(hz_to_mel(np.asarray(freqs_hz, dtype=np.float64)), 0.0, knots[-1])  # (K,)
    return PchipInterpolator(knots, gains_db)(mel)                                   # (K,) dB


def random_eq(x: np.ndarray, rate: int, rng: np.random.Generator, max_db: float,
              points: int = 5) -> np.ndarray:
    """Filter x (N,) by a random smooth gain curve within +-``max_db`` dB -> (N,) float32."""
    x = np.asarray(x, dtype=np.float32)
    gains = rng.uniform(-max_db, max_db, size=int(points))                            # (P,)
    if x.size < 2 or max_db <= 0:
        return x
    spectrum = np.fft.rfft(x.astype(np.float64))                                      # (N//2 + 1,)
    curve = eq_curve_db(np.fft.rfftfreq(x.size, 1.0 / rate), rate, gains)             # (N//2 + 1,)
    return np.fft.irfft(spectrum * 10.0 ** (curve / 20.0), n=x.size).astype(np.float32)  # (N,)

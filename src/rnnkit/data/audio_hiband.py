"""Random frication-band gain: the top band scaled where it dominates (fricatives, bursts).

Engines differ most in how much energy their consonants put above ``cut`` Hz (espeak's
fricatives 3-30 times the recorded-voice engines' share of 2.5-4 kHz; RESULTS_classify.md,
spoken digits, "Eleventh pass"). A static gain curve is normalised away by the per-utterance
cepstral mean; this one moves with time, so it changes how frication stands against the vowels:

    x = x_lo + x_hi                        complementary split at ``cut`` (zero-phase, rfft mask)
    r_t = E_hi(t) / (E_lo(t) + E_hi(t))    the top band's share of each ~20 ms frame's energy,
                                            interpolated to every sample
    g ~ U[-D, D] dB                         one draw per utterance
    y = x_lo + x_hi * 10^(g r_t / 20)       (N,) -> (N,)

Vowels (r near 0) keep their spectrum; frication (r near 1) gets the whole gain.
``audio.aug_hiband_db = D`` (0: off) runs it in :func:`rnnkit.data.audio_augment.augment_signal`
after the random channel, before the noise. Measured, not adopted (RESULTS_classify.md,
spoken digits, "Twelfth pass").
"""
from __future__ import annotations

import numpy as np

from rnnkit.errors import DataError

__all__ = ["check_hiband", "hiband_gain"]


def check_hiband(max_db: float) -> None:
    """One-line error for ``audio.aug_hiband_db`` (0: off)."""
    if not (np.isfinite(max_db) and 0.0 <= max_db <= 24.0):
        raise DataError(f"audio aug_hiband_db must be in 0..24 dB (0: off), got {max_db}")


def hiband_gain(x: np.ndarray, rate: int, rng: np.random.Generator, max_db: float, cut: float = 2000.0,
                frame_ms: float = 20.0) -> np.ndarray:
    """``x`` (N,) float32 with its band above ``cut`` Hz scaled by a random gain within
    +-``max_db`` dB, weighted per frame by that band's share of the energy (module doc)."""
    x = np.asarray(x, dtype=np.float32)
    n = len(x)
    if n < 2 or max_db <= 0 or cut >= rate / 2:
        return x
    xd = x.astype(np.float64)
    high = np.fft.rfftfreq(n, 1.0 / rate) >= cut
    x_hi = np.fft.irfft(np.fft.rfft(xd) * high, n)
    x_lo = xd - x_hi
    hop = max(1, int(rate * frame_ms / 1000))
    starts = np.arange(0, n, hop)
    e_hi = np.add.reduceat(x_hi ** 2, starts)
    e_lo = np.add.reduceat(x_lo ** 2, starts)
    share = e_hi / np.maximum(e_hi + e_lo, 1e-20)            # (frames,)
    r = np.interp(np.arange(n), starts + hop / 2, share)      # (N,)
    g = rng.uniform(-max_db, max_db)
    return (x_lo + x_hi * 10.0 ** (g * r / 20.0)).astype(np.float32)

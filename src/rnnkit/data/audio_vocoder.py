"""Vocoder augmentation: a voice heard through another voice source.

A formant synthesiser (espeak), a diphone voice (festival, flite) and a person differ
less in *what* the vocal tract does (the spectral envelope that makes a vowel an /i/
or a /u/) than in the *source* that drives it: a clean impulse train or a recorded
glottal flow, breathy or not, with its own pitch contour. :func:`lpc_resynthesize`
keeps an utterance's envelope and replaces its source, so a model trained on recorded
voices also hears them as a buzzy source-filter synthesiser would say them (and the
other way round).

Per frame (Hann window of ``win_ms``, hop of half of it), linear prediction (LPC) of
order p = 2 + rate/1000 by Levinson-Durbin on the frame's autocorrelation R (with a
-30 dB white-noise correction, R_0 (1 + 1e-3), so the recursion stays stable):

    x_n ≈ -Σ_{j=1..p} a_j x_{n-j},   A(z) = 1 + Σ a_j z^-j,   E = R_0 Π (1 - k_i^2)

A frame is voiced when its normalised autocorrelation peaks above ``voicing`` at a lag
of a 60-400 Hz pitch. The new source is, for voiced frames, a unit-power impulse train
at f0(t) = f0 (1 + g t / T), f0 ~ U[f0_lo, f0_hi], glide g ~ U[-0.2, 0.2] (one draw per
call: a new speaker's pitch, with a simple intonation), and for unvoiced frames white
Gaussian noise. Each frame's source goes through G / A(z), G = sqrt(E / Σ w^2) (the
frame's residual power per sample), is windowed again and overlap-added (Hann at
half overlap sums to 1). The result is scaled to the input's RMS: (N,) -> (N,), same
sample rate.
"""
from __future__ import annotations

import numpy as np
from scipy.signal import lfilter

__all__ = ["lpc", "voiced_frames", "lpc_resynthesize"]


def _frames(x: np.ndarray, win: int, hop: int) -> np.ndarray:
    """(N,) -> (F, win) windows at ``hop`` steps, the last one zero-padded."""
    n_frames = 1 + max(0, -(-(x.size - win) // hop))
    padded = np.pad(x, (0, (n_frames - 1) * hop + win - x.size))
    return np.lib.stride_tricks.sliding_window_view(padded, win)[::hop][:n_frames]


def _autocorrelation(frames: np.ndarray, lags: int) -> np.ndarray:
    """(F, W) -> (F, lags + 1): R_k = Σ_n f_n f_{n+k}, by FFT."""
    spec = np.fft.rfft(frames, n=2 * frames.shape[1], axis=1)
    return np.fft.irfft(np.abs(spec) ** 2, axis=1)[:, :lags + 1]


def lpc(r: np.ndarray, order: int) -> tuple[np.ndarray, np.ndarray]:
    """Levinson-Durbin on autocorrelations (F, >= order + 1) -> (A (F, order + 1) with
    A_0 = 1, prediction error energy E (F,)), every frame at once."""
    r = np.asarray(r, dtype=np.float64)
    n = r.shape[0]
    a = np.zeros((n, order + 1))
    a[:, 0] = 1.0
    err = r[:, 0].copy()
    for i in range(1, order + 1):
        acc = r[:, i] + np.einsum("fj,fj->f", a[:, 1:i], r[:, i - 1:0:-1]) if i > 1 else r[:, 1].copy()
        k = -acc / np.maximum(err, 1e-30)                        # (F,) reflection coefficients
        a[:, 1:i] = a[:, 1:i] + k[:, None] * a[:, i - 1:0:-1]
        a[:, i] = k
        err = err * (1.0 - k ** 2)
    return a, np.maximum(err, 0.0)


def voiced_frames(r: np.ndarray, rate: int, threshold: float) -> np.ndarray:
    """(F, lags + 1) autocorrelations -> (F,) bool: the peak of R_k / R_0 over the lags of
    a 60-400 Hz pitch is above ``threshold``."""
    lo, hi = int(rate / 400), min(int(rate / 60), r.shape[1] - 1)
    peak = r[:, lo:hi + 1].max(axis=1)
    return peak > threshold * np.maximum(r[:, 0], 1e-30)


def _pulse_train(n: int, rate: int, f0: float, glide: float) -> np.ndarray:
    """(n,) unit-power impulses at f0 (1 + glide t / T)."""
    f0_t = f0 * (1.0 + glide * np.arange(n) / max(n, 1))          # (n,) Hz
    phase = np.cumsum(f0_t / rate)
    pulses = np.diff(np.floor(phase), prepend=0.0) > 0            # one pulse per period
    return pulses * np.sqrt(rate / f0_t)


def lpc_resynthesize(x: np.ndarray, rate: int, rng: np.random.Generator,
                     f0_range: tuple[float, float] = (80.0, 250.0), win_ms: float = 25.0,
                     voicing: float = 0.35) -> np.ndarray:
    """The utterance's LPC envelope driven by a new source (module doc): (N,) -> (N,) float32.
    Draws f0, the glide and the noise from ``rng`` only; a signal shorter than one frame or
    silent comes back unchanged."""
    x = np.asarray(x, dtype=np.float32)
    win = max(16, int(round(rate * win_ms / 1000)) // 2 * 2)
    hop = win // 2
    power = float(np.mean(x.astype(np.float64) ** 2)) if x.size else 0.0
    if x.size < win or power == 0.0:
        return x
    order = 2 + rate // 1000
    window = np.hanning(win + 1)[:win]                             # periodic Hann: sums to 1 at hop W/2
    frames = _frames(x.astype(np.float64), win, hop) * window      # (F, W)
    r = _autocorrelation(frames, max(order, int(rate / 60)))       # (F, lags + 1)
    voiced = voiced_frames(r, rate, voicing)                       # (F,)
    r_lpc = r[:, :order + 1].copy()
    r_lpc[:, 0] *= 1.0 + 1e-3                                      # white-noise correction
    a, err = lpc(r_lpc, order)                                     # (F, p + 1), (F,)
    gain = np.sqrt(err / float(np.sum(window ** 2)))               # (F,) residual RMS per sample

    f0 = float(rng.uniform(*f0_range))
    glide = float(rng.uniform(-0.2, 0.2))
    n_out = (len(frames) - 1) * hop + win
    buzz = _pulse_train(n_out, rate, f0, glide)                    # (n_out,)
    hiss = rng.standard_normal(n_out)                              # (n_out,)
    out = np.zeros(n_out)
    for f in range(len(frames)):                                   # F ~ 100 frames a second
        s = f * hop
        source = buzz[s:s + win] if voiced[f] else hiss[s:s + win]
        out[s:s + win] += window * lfilter([gain[f]], a[f], source)
    out = out[:x.size]
    new_power = float(np.mean(out ** 2))
    if not np.isfinite(new_power) or new_power == 0.0:
        return x
    return (out * np.sqrt(power / new_power)).astype(np.float32)

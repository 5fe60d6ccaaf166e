"""Vocoder augmentation (rnnkit.data.audio_vocoder): the envelope stays, the source changes."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.linalg import solve_toeplitz
from scipy.signal import lfilter

from rnnkit.data.audio import AudioConfig
from rnnkit.data.audio_augment import augment_signal
from rnnkit.data.audio_vocoder import lpc, lpc_resynthesize, voiced_frames
from rnnkit.errors import DataError

RATE = 8000


def vowel(f0: float = 120.0, formant: float = 700.0, seconds: float = 0.6, rate: int = RATE) -> np.ndarray:
    """An impulse train at f0 through one resonance at ``formant`` Hz (bandwidth 80 Hz)."""
    n = int(seconds * rate)
    source = np.zeros(n)
    source[::int(rate / f0)] = 1.0
    radius = np.exp(-np.pi * 80.0 / rate)
    theta = 2 * np.pi * formant / rate
    y = lfilter([1.0], [1.0, -2 * radius * np.cos(theta), radius ** 2], source)
    return (0.3 * y / np.abs(y).max()).astype(np.float32)


def envelope_peak_hz(x: np.ndarray, rate: int = RATE, order: int = 10) -> float:
    """The frequency of the largest peak of the signal's whole-file LPC envelope."""
    r = np.correlate(x, x, "full")[x.size - 1:x.size + order].astype(np.float64)
    a, _ = lpc(r[None, :], order)
    freqs = np.linspace(0, rate / 2, 2048)
    zs = np.exp(-2j * np.pi * np.outer(freqs / rate, np.arange(order + 1)))   # (2048, p + 1): z^-j
    response = 1.0 / np.abs(zs @ a[0])                                         # |1 / A(z)|
    return float(freqs[np.argmax(response)])


def test_levinson_matches_scipy_toeplitz_solve():
    rng = np.random.default_rng(0)
    x = lfilter([1.0], [1.0, -0.9, 0.4], rng.standard_normal(4000))
    order = 6
    r = np.array([np.dot(x[:x.size - k], x[k:]) for k in range(order + 1)])
    a, err = lpc(np.stack([r, 2 * r]), order)                       # two frames at once
    expected = solve_toeplitz(r[:order], -r[1:order + 1])           # R a = -r
    np.testing.assert_allclose(a[0, 1:], expected, rtol=1e-8)
    np.testing.assert_allclose(a[1, 1:], expected, rtol=1e-8)       # scale-free
    assert a[0, 0] == 1.0
    np.testing.assert_allclose(err[0], r[0] + np.dot(a[0, 1:], r[1:]), rtol=1e-8)
    np.testing.assert_allclose(err[1], 2 * err[0], rtol=1e-8)


def test_length_rate_power_and_seed():
    x = vowel()
    y = lpc_resynthesize(x, RATE, np.random.default_rng(3))
    assert y.dtype == np.float32 and y.shape == x.shape and np.isfinite(y).all()
    np.testing.assert_allclose(np.mean(y.astype(np.float64) ** 2), np.mean(x.astype(np.float64) ** 2), rtol=1e-4)
    np.testing.assert_array_equal(y, lpc_resynthesize(x, RATE, np.random.default_rng(3)))
    assert not np.array_equal(y, lpc_resynthesize(x, RATE, np.random.default_rng(4)))


@pytest.mark.parametrize("formant", [500.0, 1200.0])
def test_the_envelope_stays_where_the_resonance_is(formant):
    x = vowel(formant=formant)
    y = lpc_resynthesize(x, RATE, np.random.default_rng(0))
    assert abs(envelope_peak_hz(y) - formant) < 0.1 * formant
    assert not np.allclose(y, x, atol=1e-2)  # the waveform itself is new


def test_the_source_gets_the_drawn_pitch():
    """Voiced throughout: the output's autocorrelation peaks at the new period, not 1/120 s."""
    x = vowel(f0=120.0, seconds=1.0)
    y = lpc_resynthesize(x, RATE, np.random.default_rng(5), f0_range=(200.0, 200.0)).astype(np.float64)
    mid = y[2000:6000]
    ac = np.correlate(mid, mid, "full")[mid.size - 1:]
    lag = int(np.argmax(ac[20:100])) + 20                    # 80..400 Hz
    assert abs(RATE / lag - 200.0) < 30.0                    # the glide moves it by up to 20 %


def test_voicing_tells_a_pulse_train_from_noise():
    rng = np.random.default_rng(0)
    frames = np.stack([vowel(seconds=0.025), rng.standard_normal(200).astype(np.float32)])
    spec = np.fft.rfft(frames, n=400, axis=1)
    r = np.fft.irfft(np.abs(spec) ** 2, axis=1)[:, :134]
    assert voiced_frames(r, RATE, 0.35).tolist() == [True, False]


def test_short_or_silent_signals_come_back_unchanged():
    rng = np.random.default_rng(0)
    short = np.ones(50, dtype=np.float32)
    silent = np.zeros(4000, dtype=np.float32)
    np.testing.assert_array_equal(lpc_resynthesize(short, RATE, rng), short)
    np.testing.assert_array_equal(lpc_resynthesize(silent, RATE, rng), silent)


def test_augment_signal_calls_it_only_when_on(monkeypatch):
    import rnnkit.data.audio_augment as augment

    calls = []
    real = augment.lpc_resynthesize
    monkeypatch.setattr(augment, "lpc_resynthesize", lambda *a, **k: calls.append(1) or real(*a, **k))
    x = vowel()
    off = AudioConfig()
    assert off.aug_vocoder == 0.0
    rng = np.random.default_rng(7)
    augment_signal(x, RATE, rng, off)
    assert calls == []
    on = AudioConfig(aug_vocoder=1.0, aug_speed=None, aug_tempo=None, aug_pitch=None, aug_gain_db=None,
                     aug_snr_db=())
    y = augment_signal(x, RATE, np.random.default_rng(7), on)
    assert calls == [1] and y.shape == x.shape and not np.allclose(y, x, atol=1e-2)


@pytest.mark.parametrize("bad", [-0.1, 1.5])
def test_the_probability_is_checked(bad):
    with pytest.raises(DataError, match="aug_vocoder must be in"):
        AudioConfig(aug_vocoder=bad)

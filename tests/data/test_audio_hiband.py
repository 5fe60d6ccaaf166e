"""audio_hiband.hiband_gain: the top band scaled by the drawn gain where it dominates,
vowel-like frames left alone, length and dtype kept."""
from __future__ import annotations

import numpy as np
import pytest

from rnnkit.data.audio_hiband import hiband_gain

RATE = 8000


class Fixed:
    """A generator stand-in whose uniform draw is a fixed gain."""

    def __init__(self, db: float) -> None:
        self.db = db

    def uniform(self, low: float, high: float) -> float:
        assert low == -high
        return self.db


def _tone_then_hiss(seed: int = 0) -> np.ndarray:
    t = np.arange(4000) / RATE
    tone = 0.5 * np.sin(2 * np.pi * 300 * t)  # all below the cut
    noise = np.random.default_rng(seed).standard_normal(4000)
    hiss = np.fft.irfft(np.fft.rfft(noise) * (np.fft.rfftfreq(4000, 1 / RATE) >= 2500), 4000) * 0.3
    return np.concatenate([tone, hiss]).astype(np.float32)


def _db(y: np.ndarray, x: np.ndarray, a: int, b: int) -> float:
    return float(10 * np.log10(np.sum(y[a:b].astype(np.float64) ** 2) / np.sum(x[a:b].astype(np.float64) ** 2)))


@pytest.mark.parametrize("gain", [-12.0, 6.0, 12.0])
def test_frication_gets_the_gain_and_the_vowel_keeps_its_level(gain):
    x = _tone_then_hiss()
    y = hiband_gain(x, RATE, Fixed(gain), 12.0)
    assert y.shape == x.shape and y.dtype == np.float32
    assert abs(_db(y, x, 4500, 7500) - gain) < 0.2   # the hiss: the whole gain
    assert abs(_db(y, x, 500, 3500)) < 0.05          # the tone: unchanged


def test_off_and_degenerate_inputs_come_back_unchanged():
    x = _tone_then_hiss()
    np.testing.assert_array_equal(hiband_gain(x, RATE, Fixed(5.0), 0.0), x)
    np.testing.assert_array_equal(hiband_gain(x, RATE, Fixed(5.0), 5.0, cut=4000.0), x)
    one = np.ones(1, dtype=np.float32)
    np.testing.assert_array_equal(hiband_gain(one, RATE, Fixed(5.0), 5.0), one)


def test_the_gain_is_drawn_within_the_range():
    x = _tone_then_hiss()
    rng = np.random.default_rng(3)
    for _ in range(20):
        y = hiband_gain(x, RATE, rng, 6.0)
        assert abs(_db(y, x, 4500, 7500)) <= 6.0 + 0.2


@pytest.mark.parametrize("bad", [-1.0, 30.0, float("nan")])
def test_a_bad_range_is_one_line(bad):
    from rnnkit.data.audio import AudioConfig
    from rnnkit.errors import DataError

    with pytest.raises(DataError, match=r"^audio aug_hiband_db must be in 0\.\.24 dB \(0: off\), got "):
        AudioConfig(aug_hiband_db=bad)


def test_augment_signal_calls_it_only_when_on(monkeypatch):
    from rnnkit.data import audio_augment
    from rnnkit.data.audio import AudioConfig

    calls = []
    monkeypatch.setattr(audio_augment, "hiband_gain", lambda y, *a: calls.append(a[-1]) or y)
    x = _tone_then_hiss()
    off = AudioConfig(aug_prob=1.0)
    audio_augment.augment_signal(x, RATE, np.random.default_rng(0), off)
    assert calls == []
    audio_augment.augment_signal(x, RATE, np.random.default_rng(0), AudioConfig(aug_prob=1.0, aug_hiband_db=9.0))
    assert calls == [9.0]

"""Random channel augmentation (audio.aug_eq_db): a smooth curve, within range, length kept."""
from __future__ import annotations

import numpy as np
import pytest

from rnnkit.data.audio import AudioConfig, hz_to_mel
from rnnkit.data.audio_augment import augment_signal
from rnnkit.data.audio_eq import eq_curve_db, random_eq
from rnnkit.errors import DataError

RATE = 8000
NO_AUG = dict(aug_speed=None, aug_tempo=None, aug_pitch=None, aug_gain_db=None, aug_snr_db=(),
              aug_time_masks=0, aug_freq_masks=0)


def gains_seen(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The filter's gain in dB at every rfft bin, read off input and output spectra."""
    return 20 * np.log10(np.abs(np.fft.rfft(y.astype(np.float64))) / np.abs(np.fft.rfft(x.astype(np.float64))))


@pytest.mark.parametrize("max_db,points", [(6.0, 3), (8.0, 5), (10.0, 8)])
def test_gain_is_the_curve_within_range_and_length_kept(max_db, points):
    x = np.random.default_rng(0).standard_normal(4001).astype(np.float32)  # white: every bin has energy
    y = random_eq(x, RATE, np.random.default_rng(1), max_db, points)
    assert y.shape == x.shape and y.dtype == np.float32
    seen = gains_seen(x, y)                                                         # (N//2 + 1,)
    drawn = np.random.default_rng(1).uniform(-max_db, max_db, size=points)          # the same draws
    expected = eq_curve_db(np.fft.rfftfreq(x.size, 1 / RATE), RATE, drawn)
    assert np.allclose(seen, expected, atol=0.01)
    assert np.all(np.abs(seen) <= max_db + 0.01)
    assert np.ptp(seen) > 0.5 * max_db  # a real colouring, not a constant gain


def test_curve_passes_its_control_points_and_is_smooth():
    gains = np.array([6.0, -6.0, 4.0, -2.0, 5.0])
    knots_hz = 700 * (10 ** (np.linspace(0, hz_to_mel(RATE / 2), gains.size) / 2595) - 1)
    assert np.allclose(eq_curve_db(knots_hz, RATE, gains), gains, atol=1e-6)
    mel = np.linspace(0, hz_to_mel(RATE / 2), 20001)
    curve = eq_curve_db(700 * (10 ** (mel / 2595) - 1), RATE, gains)                # (20001,)
    slope = np.diff(curve) / np.diff(mel)                                          # dB per mel
    spacing = mel[-1] / (gains.size - 1)
    assert np.max(np.abs(slope)) <= 3 * 12.0 / spacing  # PCHIP: at most 3x the steepest secant
    assert np.max(np.abs(np.diff(slope))) < 1e-3 * np.max(np.abs(slope))  # continuous slope: no kinks
    assert curve.min() >= gains.min() - 1e-9 and curve.max() <= gains.max() + 1e-9


def test_augment_signal_applies_it_only_when_asked():
    x = np.random.default_rng(2).standard_normal(3000).astype(np.float32)
    off = augment_signal(x, RATE, np.random.default_rng(5), AudioConfig(aug_prob=1.0, **NO_AUG))
    assert np.array_equal(off, x)  # every step off, the channel too (the default): untouched
    on = augment_signal(x, RATE, np.random.default_rng(5), AudioConfig(aug_prob=1.0, aug_eq_db=8.0, **NO_AUG))
    assert on.shape == x.shape and not np.allclose(on, x)
    assert np.all(np.abs(gains_seen(x, on)) <= 8.0 + 0.01)
    never = augment_signal(x, RATE, np.random.default_rng(5), AudioConfig(aug_prob=0.0, aug_eq_db=8.0, **NO_AUG))
    assert np.array_equal(never, x)


def test_off_draws_nothing():
    """With aug_eq_db 0 the step makes no draw, so the default augmentation draws what it drew before."""
    x = np.random.default_rng(3).standard_normal(4000).astype(np.float32)
    rng = np.random.default_rng(9)
    state = rng.bit_generator.state
    augment_signal(x, RATE, rng, AudioConfig(aug_prob=1.0, aug_eq_db=0.0, aug_eq_points=7, **NO_AUG))
    assert rng.bit_generator.state == state
    augment_signal(x, RATE, rng, AudioConfig(aug_prob=1.0, aug_eq_db=6.0, **NO_AUG))
    assert rng.bit_generator.state != state


@pytest.mark.parametrize("kwargs,word", [(dict(aug_eq_db=-1.0), "aug_eq_db"), (dict(aug_eq_db=30.0), "aug_eq_db"),
                                         (dict(aug_eq_db=float("nan")), "aug_eq_db"),
                                         (dict(aug_eq_points=1), "aug_eq_points")])
def test_bad_settings_are_one_line_errors(kwargs, word):
    with pytest.raises(DataError, match=word) as err:
        AudioConfig(**kwargs)
    assert "\n" not in str(err.value)

"""The noise floor (audio.noise_floor_db): off changes nothing, SNR as asked, fixed at prediction."""
from __future__ import annotations

import numpy as np
import pytest

from rnnkit.data.audio import AudioConfig, features_from_signal, noise_floor, trim_silence
from rnnkit.data.audio_augment import augment_signal
from rnnkit.data.audio_tta import tta_features
from rnnkit.errors import DataError

RATE = 8000
NO_AUG = dict(aug_speed=None, aug_tempo=None, aug_pitch=None, aug_gain_db=None, aug_snr_db=(),
              aug_time_masks=0, aug_freq_masks=0)


def word(seconds: float = 0.6, rate: int = RATE) -> np.ndarray:
    """A 'word': a vowel-like tone burst between two stretches of digital silence."""
    t = np.arange(int(seconds * rate)) / rate
    voiced = (0.3 * np.sin(2 * np.pi * 220 * t) + 0.1 * np.sin(2 * np.pi * 1200 * t)) * np.hanning(t.size)
    silence = np.zeros(int(0.2 * rate))
    return np.concatenate([silence, voiced, silence]).astype(np.float32)


def snr_db(clean: np.ndarray, noisy: np.ndarray) -> float:
    return float(10 * np.log10(np.mean(clean.astype(np.float64) ** 2)
                               / np.mean((noisy.astype(np.float64) - clean) ** 2)))


@pytest.mark.parametrize("off", [None, 0.0])
def test_off_is_bit_identical(off):
    x = word()
    cfg = AudioConfig(noise_floor_db=off)
    assert noise_floor(x, cfg) is x
    assert np.array_equal(features_from_signal(x, cfg), features_from_signal(x, AudioConfig()))
    assert all(np.array_equal(a, b) for a, b in zip(tta_features(x, AudioConfig(noise_floor_db=off, tta=2)),
                                                    tta_features(x, AudioConfig(tta=2))))
    rng_a, rng_b = np.random.default_rng(3), np.random.default_rng(3)
    assert np.array_equal(augment_signal(x, RATE, rng_a, cfg), augment_signal(x, RATE, rng_b, AudioConfig()))


@pytest.mark.parametrize("db", [10.0, 30.0])
def test_snr_is_as_requested_and_length_and_rate_are_kept(db):
    x = trim_silence(word(), AudioConfig())
    cfg = AudioConfig(noise_floor_db=db)
    for rng in (None, np.random.default_rng(0)):
        y = noise_floor(x, cfg, rng)
        assert y.dtype == np.float32 and y.shape == x.shape
        assert abs(snr_db(x, y) - db) < 0.05
    # the training half, with every other augmentation off, is the floor alone
    y = augment_signal(x, RATE, np.random.default_rng(1), AudioConfig(noise_floor_db=db, **NO_AUG))
    assert y.shape == x.shape and abs(snr_db(x, y) - db) < 0.05


def test_the_floor_is_fixed_at_prediction_and_drawn_in_training():
    x = word()
    cfg = AudioConfig(noise_floor_db=30.0)
    a, b = features_from_signal(x, cfg), features_from_signal(x.copy(), cfg)
    assert np.array_equal(a, b)                                     # same file, same floor
    assert not np.array_equal(a, features_from_signal(x, AudioConfig()))  # and there is one
    other = x.copy()
    other[len(other) // 2] += 1e-3                                   # another file: another draw
    assert not np.array_equal(noise_floor(other, cfg) - other, noise_floor(x, cfg) - x)
    train = AudioConfig(noise_floor_db=30.0, **NO_AUG)
    y1 = augment_signal(x, RATE, np.random.default_rng(1), train)
    y2 = augment_signal(x, RATE, np.random.default_rng(2), train)
    assert not np.array_equal(y1, y2)                                # training: a new draw each time


def test_the_floor_lies_after_trimming_and_under_every_tta_view():
    x = word()
    cfg = AudioConfig(noise_floor_db=30.0, tta=2)
    trimmed = trim_silence(x, cfg)
    assert trimmed.size < x.size
    expected = features_from_signal(noise_floor(trimmed, cfg), cfg, floored=True)
    views = tta_features(x, cfg)
    assert np.array_equal(views[0], expected)
    assert len(views) == 3 and all(v.shape[1] == cfg.n_features for v in views)
    assert all(np.array_equal(a, b) for a, b in zip(views, tta_features(x.copy(), cfg)))


def test_silence_stays_silent():
    x = np.zeros(4000, dtype=np.float32)
    assert np.array_equal(noise_floor(x, AudioConfig(noise_floor_db=30.0)), x)


@pytest.mark.parametrize("bad", [-5.0, float("inf"), float("nan")])
def test_a_bad_floor_is_a_one_line_error(bad):
    with pytest.raises(DataError, match="noise_floor_db"):
        AudioConfig(noise_floor_db=bad)

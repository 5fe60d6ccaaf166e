"""Vocal tract length perturbation: the warp's shape, where a tone lands, range and seeds."""
from __future__ import annotations

import numpy as np
import pytest

import rnnkit.data.audio as audio
from rnnkit.data.audio import AudioConfig, features_from_signal, log_mel, vtlp_warp
from rnnkit.errors import DataError

RATE = 8000
NYQ = RATE / 2


def tone(freq: float, seconds: float = 0.4) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


@pytest.mark.parametrize("alpha", [0.85, 0.9, 1.1, 1.15])
def test_warp_is_increasing_continuous_keeps_the_ends_and_scales_the_formants(alpha):
    f = np.linspace(0.0, NYQ, 4001)
    w = vtlp_warp(f, alpha, NYQ)
    assert w[0] == 0.0 and np.isclose(w[-1], NYQ)
    assert np.all(np.diff(w) > 0) and np.max(np.abs(np.diff(w))) < 3.0  # no jump (steps are 1 Hz)
    low = f <= 0.8 * NYQ * min(alpha, 1.0) / alpha
    assert np.allclose(w[low], alpha * f[low]) and low.sum() > 0.6 * f.size


def test_a_warped_tone_lands_where_the_stretched_tone_would():
    cfg = AudioConfig(n_mels=40, trim_db=0)
    for alpha, freq in ((1.15, 1000.0), (0.85, 1500.0)):
        warped = log_mel(tone(freq), cfg, warp=alpha).mean(axis=0)      # (n_mels,)
        moved = log_mel(tone(alpha * freq), cfg).mean(axis=0)
        plain = log_mel(tone(freq), cfg).mean(axis=0)
        assert warped.argmax() == moved.argmax() != plain.argmax()


def test_vtlp_keeps_the_frames_is_seeded_and_draws_in_its_range(monkeypatch):
    x = np.random.default_rng(0).standard_normal(RATE // 2).astype(np.float32)
    cfg = AudioConfig(aug_vtlp=(0.9, 1.1), aug_prob=1.0, aug_time_masks=0, aug_freq_masks=0)
    plain = features_from_signal(x, cfg)
    a = features_from_signal(x, cfg, np.random.default_rng(3))
    b = features_from_signal(x, cfg, np.random.default_rng(3))
    assert a.shape == plain.shape and np.array_equal(a, b) and not np.allclose(a, plain)
    drawn = []
    real = audio.log_mel
    monkeypatch.setattr(audio, "log_mel", lambda x, cfg, warp=1.0: drawn.append(warp) or real(x, cfg, warp))
    rng = np.random.default_rng(1)
    for _ in range(200):
        features_from_signal(x[:800], cfg, rng)
    assert 0.9 <= min(drawn) < 0.92 and 1.08 < max(drawn) <= 1.1
    drawn.clear()
    features_from_signal(x[:800], AudioConfig(aug_vtlp=(0.9, 1.1), aug_prob=0.0), rng)
    features_from_signal(x[:800], cfg)  # no generator: never warped (prediction)
    assert drawn == [1.0, 1.0]


def test_bad_vtlp_range_is_a_one_line_error():
    with pytest.raises(DataError) as err:
        AudioConfig(aug_vtlp=(0.5, 1.2))
    assert str(err.value) == "audio aug_vtlp must be [low, high] with 0.7 <= low <= high <= 1.4, got [0.5, 1.2]"

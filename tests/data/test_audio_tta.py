"""Test-time augmentation: N = 0 is the clean features, views keep what they promise, averaging."""
from __future__ import annotations

import numpy as np
import pytest

import rnnkit.data.audio as audio
from rnnkit.data.audio import TTA_MAX_VIEWS, AudioConfig, features_from_signal, trim_silence
from rnnkit.data.audio_tta import TTA_VIEWS, average_views, tta_features, tta_signal
from rnnkit.errors import DataError

RATE = 8000


def word(seconds: float = 0.6) -> np.ndarray:
    """A voiced 'word' (harmonics of 140 Hz under an envelope) between two silences."""
    t = np.arange(int(seconds * RATE)) / RATE
    voiced = sum(np.sin(2 * np.pi * 140 * k * t) / k for k in range(1, 12)) * np.hanning(t.size)
    gap = np.zeros(RATE // 5)
    return (0.3 * np.concatenate([gap, voiced, gap])).astype(np.float32)


def test_zero_views_are_exactly_the_clean_features():
    x = word()
    cfg = AudioConfig()
    assert cfg.tta == 0
    (only,) = tta_features(x, cfg)
    assert np.array_equal(only, features_from_signal(x, cfg))
    assert np.array_equal(features_from_signal(x, cfg, warp=1.0), features_from_signal(x, cfg))


def test_views_have_the_feature_width_and_differ_from_the_clean_features():
    x = word()
    cfg = AudioConfig(tta=TTA_MAX_VIEWS)
    views = tta_features(x, cfg)
    assert len(views) == 1 + len(TTA_VIEWS) == 1 + TTA_MAX_VIEWS
    clean = views[0]
    for k, v in enumerate(views[1:], start=1):
        assert v.dtype == np.float32 and v.ndim == 2 and v.shape[1] == cfg.n_features, k
        assert v.shape != clean.shape or not np.allclose(v, clean), f"view {k} is the clean features"
    assert len(tta_features(x, cfg, n=4)) == 5


def test_views_are_deterministic():
    x = word()
    cfg = AudioConfig(tta=TTA_MAX_VIEWS)
    for a, b in zip(tta_features(x, cfg), tta_features(x.copy(), cfg)):
        assert np.array_equal(a, b)


def test_each_view_keeps_length_and_rate_as_its_augmentation_promises():
    x = trim_silence(word(), AudioConfig())
    n = x.size
    for view, (kind, value) in enumerate(TTA_VIEWS, start=1):
        y, warp = tta_signal(x, RATE, view)
        assert y.dtype == np.float32
        if kind in ("pitch", "noise"):
            assert y.size == n and warp == 1.0, view        # duration kept
        elif kind in ("tempo", "speed"):
            assert y.size == round(n / value) and warp == 1.0, view
        else:                                            # vtlp: the signal itself, a fixed warp
            assert np.array_equal(y, x) and warp == value
        if kind == "noise":
            snr = 10 * np.log10(np.mean(x.astype(np.float64) ** 2) / np.mean((y - x).astype(np.float64) ** 2))
            assert snr == pytest.approx(value, abs=0.05)


def test_pitch_views_move_the_fundamental_by_two_semitones():
    x = trim_silence(word(1.0), AudioConfig())
    spectrum = lambda s: np.abs(np.fft.rfft(s * np.hanning(s.size)))  # noqa: E731
    freqs = np.fft.rfftfreq(x.size, 1 / RATE)
    band = (freqs > 100) & (freqs < 200)
    f0 = lambda s: freqs[band][np.argmax(spectrum(s)[band])]  # noqa: E731
    up, _ = tta_signal(x, RATE, 1)
    down, _ = tta_signal(x, RATE, 2)
    assert f0(up) == pytest.approx(140 * 2 ** (2 / 12), rel=0.02)
    assert f0(down) == pytest.approx(140 * 2 ** (-2 / 12), rel=0.02)


def test_vtlp_views_warp_the_mel_filters(monkeypatch):
    seen = []
    real = audio.log_mel
    monkeypatch.setattr(audio, "log_mel", lambda x, cfg, warp=1.0: seen.append(warp) or real(x, cfg, warp))
    tta_features(word(), AudioConfig(tta=6))
    assert seen == [1.0, 1.0, 1.0, 1.0, 1.0, 0.9, 1.1]


def test_average_views_is_the_mean_probability_per_item():
    rng = np.random.default_rng(0)
    items = [[rng.standard_normal((t, 3)).astype(np.float32) for t in (5, 6, 4)] for _ in range(4)]

    def proba(batch):  # a fake model: softmax of each sequence's mean feature -> (n, 3)
        z = np.stack([s.mean(axis=0) for s in batch])
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    probs = average_views(proba, items)
    assert probs.shape == (4, 3) and np.allclose(probs.sum(axis=1), 1.0)
    assert np.allclose(probs[2], np.mean([proba([v])[0] for v in items[2]], axis=0))
    assert np.array_equal(average_views(proba, [v[:1] for v in items]), proba([v[0] for v in items]))
    with pytest.raises(DataError, match="same number of views"):
        average_views(proba, [items[0], items[1][:2]])


@pytest.mark.parametrize("bad", [-1, TTA_MAX_VIEWS + 1])
def test_tta_out_of_range_is_a_one_line_error(bad):
    with pytest.raises(DataError) as err:
        AudioConfig(tta=bad)
    assert "audio tta must be in 0..10" in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(DataError):
        tta_signal(word(), RATE, 0)

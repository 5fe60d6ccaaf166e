"""Front-end options of the sixth speech pass: delta-only features (``audio.static``) and
per-channel energy normalisation (``audio.compression = "pcen"``)."""
from __future__ import annotations

import math

import numpy as np
import pytest

from rnnkit.data.audio import AudioConfig, features_from_signal, mel_energies, pcen
from rnnkit.errors import DataError


def _chirp(rate: int = 8000, seconds: float = 0.4) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return (0.3 * np.sin(2 * np.pi * (300.0 + 900.0 * t) * t)).astype(np.float32)


@pytest.mark.parametrize("deltas", [1, 2])
def test_delta_only_features_are_the_delta_columns_of_the_full_set(deltas):
    x = _chirp()
    full = features_from_signal(x, AudioConfig(deltas=deltas))            # (T, 13 (1 + deltas))
    moving = features_from_signal(x, AudioConfig(deltas=deltas, static=False))
    cfg = AudioConfig(deltas=deltas, static=False)
    assert cfg.n_features == 13 * deltas and moving.shape == (full.shape[0], 13 * deltas)
    np.testing.assert_array_equal(moving, full[:, 13:])  # per-column normalisation: same columns
    logmel = AudioConfig(n_mfcc=0, deltas=1, static=False)
    assert features_from_signal(x, logmel).shape[1] == logmel.n_features == 40


def test_delta_only_needs_deltas():
    with pytest.raises(DataError, match=r"^audio static = false needs deltas >= 1"):
        AudioConfig(static=False, deltas=0)


def test_pcen_follows_its_recursion_and_divides_out_a_gain():
    rng = np.random.default_rng(0)
    energies = rng.uniform(1e-6, 1e-3, size=(30, 4))                      # (T, M)
    out = pcen(energies, hop_s=0.01, time_s=0.1)
    b = 0.1 / 0.01
    s = (math.sqrt(1 + 4 * b * b) - 1) / (2 * b * b)
    e = energies * 2.0**31
    smooth = e[0].copy()                                                    # S_0 = E_0
    for t in range(30):                                                     # the docstring's loop
        smooth = e[0] if t == 0 else (1 - s) * smooth + s * e[t]
        expect = (e[t] / (1e-6 + smooth) ** 0.98 + 2.0) ** 0.5 - 2.0**0.5
        np.testing.assert_allclose(out[t], expect, rtol=1e-10)
    # a gain g (here 40 dB) multiplies E / S^alpha by g^(1 - alpha) = 1.2 only (the log: + 9.2)
    louder = pcen(energies * 1e4, hop_s=0.01, time_s=0.1)
    ratio = lambda p: (p + 2.0**0.5) ** 2 - 2.0  # noqa: E731  undoes the root and the bias
    np.testing.assert_allclose(ratio(louder), 1e4**0.02 * ratio(out), rtol=1e-6)


def test_pcen_front_end_shape_and_choice_checked():
    x = _chirp()
    cfg = AudioConfig(compression="pcen", n_mfcc=0, deltas=0, normalize=False)
    feats = features_from_signal(x, cfg)
    assert feats.shape == (1 + (x.size - 200) // 80, 40) and np.isfinite(feats).all() and feats.min() >= 0
    np.testing.assert_allclose(feats, pcen(mel_energies(x, cfg), 0.01, 0.4), rtol=1e-5, atol=1e-6)
    assert features_from_signal(x, AudioConfig(compression="pcen")).shape[1] == 39
    with pytest.raises(DataError, match=r"^audio compression must be 'log' or 'pcen', got 'cube'$"):
        AudioConfig(compression="cube")
    with pytest.raises(DataError, match=r"^audio floor_db applies to compression = 'log' only"):
        AudioConfig(compression="pcen", floor_db=30.0)

"""Front-end options of the sixth speech pass: delta-only features (``audio.static``)."""
from __future__ import annotations

import numpy as np
import pytest

from rnnkit.data.audio import AudioConfig, features_from_signal
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

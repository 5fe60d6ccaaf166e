"""Sliding windows: shapes, alignment of past/known/target, and the length errors."""

from __future__ import annotations

import numpy as np
import pytest

from rnnkit.data.windowing import check_lengths, make_windows
from rnnkit.errors import DataError


def test_windows_align_past_known_and_target():
    n = 10
    past = np.arange(n, dtype=float)[:, None]  # value = time index
    known = 100 + np.arange(n, dtype=float)[:, None]
    x, k, y = make_windows(past, past, context=3, horizon=2, known=known)
    assert x.shape == (6, 3, 1) and k.shape == (6, 2, 1) and y.shape == (6, 2, 1)
    assert x[0, :, 0].tolist() == [0, 1, 2] and y[0, :, 0].tolist() == [3, 4]
    assert k[0, :, 0].tolist() == [103, 104]  # known features of the target steps
    assert x[-1, :, 0].tolist() == [5, 6, 7] and y[-1, :, 0].tolist() == [8, 9]


def test_stride_and_too_short():
    past = np.zeros((10, 2))
    x, _, _ = make_windows(past, past[:, :1], context=3, horizon=2, stride=2)
    assert x.shape == (3, 3, 2)
    x, k, y = make_windows(past, past[:, :1], context=9, horizon=2)
    assert x.shape == (0, 9, 2) and y.shape == (0, 2, 1)


@pytest.mark.parametrize(
    "n, context, horizon, message",
    [
        (10, 3, 0, "--horizon must be >= 1, got 0"),
        (10, 3, 10, "s: --horizon 10 is longer than the data (10 points)"),
        (
            10,
            8,
            3,
            "s: the input window (8 steps) plus --horizon 3 needs 11 points but the training "
            "data has 10; pass a smaller --window or --horizon",
        ),
    ],
)
def test_length_errors(n, context, horizon, message):
    with pytest.raises(DataError) as err:
        check_lengths(n, context, horizon, "s")
    assert str(err.value) == message

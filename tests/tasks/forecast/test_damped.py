"""The panel damped-trend method (the RNN's second combination partner) and its weight.
What it shares with Theta is in test_partners.py."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rnnkit.errors import ConfigError
from rnnkit.tasks.forecast.damped import damped_forecast
from rnnkit.tasks.forecast.estimator import Forecaster
from tests.tasks.forecast.partners import one, panel


def test_a_straight_line_is_continued_with_a_damped_slope():
    y = 5 + 0.5 * np.arange(40)
    f = one(damped_forecast, y, 8)
    steps = np.diff(np.concatenate([[y[-1]], f]))  # (H,) increments from the last value
    assert np.all(steps > 0.25) and np.all(steps <= 0.5 + 1e-4)  # trend kept, at most the line's
    assert np.all(np.diff(steps) <= 1e-6)  # damped: the increments never grow
    assert f[-1] < y[-1] + 0.5 * 8  # below the undamped extrapolation


def test_a_noisy_level_without_trend_is_forecast_near_its_mean():
    y = 50 + np.random.default_rng(0).normal(0, 1, 80)
    f = one(damped_forecast, y, 6)
    assert np.abs(f - 50).max() < 1.5  # no spurious trend run away with


def test_damped_forecast_is_float32_and_finite_with_one_point_and_constant_series():
    p = panel({"a": np.arange(1.0, 30.0), "b": np.array([7.0]), "c": np.full(10, 3.0)})
    f = damped_forecast(p, 3, 12, True)
    assert f.dtype == torch.float32 and torch.isfinite(f).all()
    assert torch.allclose(f[2], torch.full((3,), 3.0), atol=1e-4)


@pytest.mark.parametrize("kw", [dict(damped=-0.1), dict(damped=1.0), dict(theta=0.5, damped=0.5)])
def test_damped_weight_out_of_range_is_one_line(kw):
    with pytest.raises(ConfigError, match="damped"):
        Forecaster(4, **kw)

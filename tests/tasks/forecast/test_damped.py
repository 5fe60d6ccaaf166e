"""The panel damped-trend method (the RNN's second combination partner) and its weight."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from rnnkit.data.panel import long_to_panel
from rnnkit.errors import ConfigError
from rnnkit.tasks.forecast.damped import damped_forecast
from rnnkit.tasks.forecast.estimator import Forecaster
from rnnkit.tasks.forecast.theta import theta_forecast


def frame(series: dict[str, np.ndarray]) -> pd.DataFrame:
    return pd.concat([pd.DataFrame({"unique_id": k, "ds": np.arange(len(v)), "y": v}) for k, v in series.items()],
                     ignore_index=True)


def one(y: np.ndarray, h: int, season: int = 1) -> np.ndarray:
    return damped_forecast(long_to_panel(frame({"a": y}), "unique_id", "y"), h, season, bool((y > 0).all()))[0].numpy()


def test_a_straight_line_is_continued_with_a_damped_slope():
    y = 5 + 0.5 * np.arange(40)
    f = one(y, 8)
    steps = np.diff(np.concatenate([[y[-1]], f]))  # (H,) increments from the last value
    assert np.all(steps > 0.25) and np.all(steps <= 0.5 + 1e-4)  # trend kept, at most the line's
    assert np.all(np.diff(steps) <= 1e-6)  # damped: the increments never grow
    assert f[-1] < y[-1] + 0.5 * 8  # below the undamped extrapolation


def test_a_noisy_level_without_trend_is_forecast_near_its_mean():
    y = 50 + np.random.default_rng(0).normal(0, 1, 80)
    f = one(y, 6)
    assert np.abs(f - 50).max() < 1.5  # no spurious trend run away with


def test_series_of_different_lengths_in_one_panel_equal_their_separate_forecasts():
    rng = np.random.default_rng(1)
    ys = {"long": 50 + np.cumsum(rng.normal(0.2, 1, 60)) + 5 * np.sin(np.arange(60) * np.pi / 2),
          "short": 20 + np.cumsum(rng.normal(0, 1, 13)), "tiny": np.array([3.0, 4.0])}
    together = damped_forecast(long_to_panel(frame(ys), "unique_id", "y"), 5, 4, True).numpy()
    for i, (k, v) in enumerate(ys.items()):
        assert np.allclose(together[i], one(v, 5, 4), rtol=1e-5), k


def test_damped_forecast_is_float32_and_finite_with_one_point_and_constant_series():
    p = long_to_panel(frame({"a": np.arange(1.0, 30.0), "b": np.array([7.0]), "c": np.full(10, 3.0)}), "unique_id", "y")
    f = damped_forecast(p, 3, 12, True)
    assert f.dtype == torch.float32 and torch.isfinite(f).all()
    assert torch.allclose(f[2], torch.full((3,), 3.0), atol=1e-4)


def test_forecaster_median_is_the_three_way_combination():
    rng = np.random.default_rng(0)
    df = frame({f"s{i}": 10 + i + np.cumsum(rng.normal(0.1, 0.5, 40)).clip(-5) for i in range(3)})
    opts = dict(hidden=8, min_steps=20, max_steps=20, batch_size=16, lookbacks=(2.0,))
    rnn = Forecaster(4, theta=0.0, damped=0.0, **opts).fit(df).predict(level=(80,))
    comb = Forecaster(4, theta=0.2, damped=0.3, **opts).fit(df).predict(level=(80,))
    p = long_to_panel(df, "unique_id", "y")
    th = theta_forecast(p, 4, 1, True).numpy().ravel()
    dm = damped_forecast(p, 4, 1, True).numpy().ravel()
    assert not np.allclose(th, dm)
    assert np.allclose(comb["forecast"], 0.5 * rnn["forecast"] + 0.2 * th + 0.3 * dm, rtol=1e-5)
    assert np.allclose(comb["hi-80"] / comb["forecast"], rnn["hi-80"] / rnn["forecast"], rtol=1e-5)


@pytest.mark.parametrize("kw", [dict(damped=-0.1), dict(damped=1.0), dict(theta=0.5, damped=0.5)])
def test_damped_weight_out_of_range_is_one_line(kw):
    with pytest.raises(ConfigError, match="damped"):
        Forecaster(4, **kw)

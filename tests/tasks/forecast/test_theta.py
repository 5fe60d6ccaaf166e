"""The panel Theta method (the RNN's combination partner), its use in `Forecaster`,
and training internals (EMA, tiny budgets). What Theta and the damped trend share is
in test_partners.py."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from rnnkit.errors import ConfigError
from rnnkit.tasks.forecast.estimator import Forecaster
from rnnkit.tasks.forecast.theta import seasonal_test, theta_forecast
from tests.tasks.forecast.partners import frame, one, panel


def test_a_straight_line_gets_half_its_slope_from_the_last_value():
    y = 5 + 0.5 * np.arange(40)
    f = one(theta_forecast, y, 4)
    # SES follows the line closely (alpha near 1), the drift adds slope / 2 per step
    steps = np.diff(np.concatenate([[f[0] - 0.25], f]))
    assert np.allclose(steps[1:], 0.25, atol=1e-6)
    assert abs(f[0] - (y[-1] + 0.25)) < 0.6


def test_a_pure_multiplicative_season_is_detected_and_repeated():
    t = np.arange(48)
    y = 100 * (1 + 0.3 * np.sin(2 * np.pi * t / 12))
    p = panel({"a": y, "flat": 100 + np.random.default_rng(0).normal(0, 1, 48)})
    assert seasonal_test(p, 12).tolist() == [True, False]
    f = one(theta_forecast, y, 12, season=12)
    truth = 100 * (1 + 0.3 * np.sin(2 * np.pi * np.arange(48, 60) / 12))
    assert np.abs(f - truth).max() < 1.0  # the season comes back; without adjustment the error would be ~30


@pytest.mark.parametrize("w", [-0.1, 1.0, 2])
def test_theta_weight_out_of_range_is_one_line(w):
    with pytest.raises(ConfigError, match="theta"):
        Forecaster(4, theta=w)


def test_theta_forecast_is_float32_and_finite_on_a_panel_with_padding():
    p = panel({"a": np.arange(1.0, 30.0), "b": np.array([7.0])})
    f = theta_forecast(p, 3, 12, True)
    assert f.dtype == torch.float32 and torch.isfinite(f).all()
    assert torch.allclose(f[1], torch.full((3,), 7.0))


def test_ema_weights_are_the_warmed_up_average_of_initial_and_trained_weights():
    from rnnkit.models.global_forecast import GlobalRNN

    rng = np.random.default_rng(0)
    df = frame({f"s{i}": 10 + np.cumsum(rng.normal(0.1, 0.5, 30)).clip(-5) for i in range(3)})
    opts = dict(hidden=8, min_steps=1, max_steps=1, batch_size=8, lookbacks=(2.0,), theta=0.0)
    plain = Forecaster(3, **opts).fit(df).members_[0].state_dict()
    avg = Forecaster(3, ema=0.99, **opts).fit(df).members_[0].state_dict()
    torch.manual_seed(0)  # the member's seed: the same initial weights
    init = GlobalRNN(6, 3, (0.025, 0.1, 0.5, 0.9, 0.975), 8, 1, 1).state_dict()
    for k in plain:
        if k != "quantiles":  # one step: decay min(0.99, 1/10)
            assert torch.allclose(avg[k], 0.1 * init[k] + 0.9 * plain[k], atol=1e-6), k
    assert any(not torch.equal(avg[k], plain[k]) for k in plain)
    with pytest.raises(ConfigError, match="ema"):
        Forecaster(3, ema=1.0)


def test_no_theta_partner_on_a_seasonal_panel_with_negative_values():
    rng = np.random.default_rng(2)
    t = np.arange(40)
    df = frame({f"s{i}": np.sin(2 * np.pi * t / 4) + rng.normal(0, 0.1, 40) for i in range(3)})  # crosses zero
    opts = dict(hidden=8, min_steps=10, max_steps=10, batch_size=16, lookbacks=(2.0,))
    with pytest.warns(UserWarning, match="log transform is off"):
        a = Forecaster(4, season=4, theta=0.0, **opts).fit(df).predict(level=(80,))
    with pytest.warns(UserWarning, match="log transform is off"):
        b = Forecaster(4, season=4, theta=0.5, **opts).fit(df).predict(level=(80,))
    pd.testing.assert_frame_equal(a, b)  # the RNN alone: Theta's indices need positive values
    with pytest.warns(UserWarning, match="log transform is off"):
        c = Forecaster(4, season=1, theta=0.5, **opts).fit(df).predict(level=(80,))
    with pytest.warns(UserWarning, match="log transform is off"):
        d = Forecaster(4, season=1, theta=0.0, **opts).fit(df).predict(level=(80,))
    assert not np.allclose(c["forecast"], d["forecast"])  # no season: Theta joins, as a linear shift
    assert np.allclose(c["hi-80"] - c["forecast"], d["hi-80"] - d["forecast"], atol=1e-5)


@pytest.mark.parametrize("steps", [1, 2, 10, 20])
def test_tiny_step_budgets_train(steps):
    # OneCycleLR divided by zero when its warm-up was exactly one step (max_steps=10)
    df = frame({"a": 10 + np.arange(30.0), "b": 20 + np.sin(np.arange(30.0))})
    out = Forecaster(3, hidden=4, min_steps=steps, max_steps=steps, batch_size=4, lookbacks=(2.0,)).fit(df).predict()
    assert np.isfinite(out["forecast"]).all()

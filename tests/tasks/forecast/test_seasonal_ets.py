"""ETS(A,N,A) for a panel (seasonal_ets.py) and the Forecaster's option seasonal_ets."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

from rnnkit.data.panel import long_to_panel
from rnnkit.errors import ConfigError
from rnnkit.tasks.forecast.estimator import Forecaster
from rnnkit.tasks.forecast.seasonal_ets import seasonal_ets_forecast

TINY = dict(hidden=8, min_steps=40, max_steps=40, batch_size=32)


def _panel(series):
    return long_to_panel(pd.concat([pd.DataFrame({"unique_id": f"s{i}", "y": y}) for i, y in enumerate(series)]),
                         "unique_id", "y")


def _ana(n, m, alpha, gamma, level=100.0, seed=0, noise=1.0):
    """A series drawn from ETS(A,N,A) itself."""
    rng = np.random.default_rng(seed)
    season = list(10 * np.sin(2 * np.pi * np.arange(m) / m))
    out, l = [], level
    for t in range(n):
        e = rng.normal(0, noise)
        s = season[t % m]
        out.append(l + s + e)
        l, season[t % m] = l + alpha * e, s + gamma * e
    return np.array(out)


def test_a_noiseless_season_is_continued_exactly():
    m, y = 12, 50 + 8 * np.sin(2 * np.pi * np.arange(60) / 12)
    fc = seasonal_ets_forecast(_panel([y]), 18, m)[0].numpy()
    np.testing.assert_allclose(fc, 50 + 8 * np.sin(2 * np.pi * np.arange(60, 78) / 12), atol=1e-4)


def _sse(y, m, alpha, gamma, x0):
    """The one-step squared errors of ETS(A,N,A) from the initial states x0 = (l_0, s_0 .. s_{m-1}), by its
    recursion."""
    level, season, total = x0[0], list(x0[1:]), 0.0
    for t, v in enumerate(y):
        e = v - level - season[t % m]
        total += e * e
        level, season[t % m] = level + alpha * e, season[t % m] + gamma * e
    return total


def test_the_fit_is_the_least_squares_one_over_the_grid():
    """At every grid point the initial states solve the least-squares problem (no perturbation of them lowers
    the recursion's squared errors), and the forecast is the recursion continued from the grid point of the
    least error."""
    from scipy.optimize import minimize

    import rnnkit.tasks.forecast.seasonal_ets as se

    m, H = 4, 4
    y = _ana(48, m, 0.3, 0.2, seed=3)
    scale = np.abs(y).mean()
    alphas, gammas = se._grid()
    best = None
    for a, g in zip(alphas.tolist(), gammas.tolist()):
        res = minimize(lambda x: _sse(y / scale, m, a, g, x), np.r_[1.0, np.zeros(m)], method="BFGS",
                       options={"gtol": 1e-10})
        if best is None or res.fun < best[0]:
            best = (res.fun, a, g, res.x)
    _, a, g, x0 = best
    level, season = x0[0], list(x0[1:])
    for t, v in enumerate(y / scale):  # the states at the end, then the forecast
        e = v - level - season[t % m]
        level, season[t % m] = level + a * e, season[t % m] + g * e
    want = [(level + season[(len(y) - 1 + h) % m]) * scale for h in range(1, H + 1)]
    np.testing.assert_allclose(se.seasonal_ets_forecast(_panel([y]), H, m)[0].numpy(), want, rtol=1e-6)


def test_series_are_fitted_alone_whatever_the_panel_and_the_chunk(monkeypatch):
    """Right-aligned series of different lengths (the phase of a column is the same for all) forecast as
    each one alone; chunks of one series give the same numbers."""
    import rnnkit.tasks.forecast.seasonal_ets as se

    m = 4
    series = [_ana(n, m, 0.3, 0.1, seed=n) for n in (41, 30, 57)]
    together = seasonal_ets_forecast(_panel(series), 6, m)
    for i, y in enumerate(series):
        np.testing.assert_allclose(together[i].numpy(), seasonal_ets_forecast(_panel([y]), 6, m)[0].numpy(), rtol=1e-9)
    monkeypatch.setattr(se, "CHUNK", 1)
    np.testing.assert_allclose(seasonal_ets_forecast(_panel(series), 6, m).numpy(), together.numpy(), rtol=1e-9)


def test_what_gets_no_fit():
    y = _ana(40, 12, 0.2, 0.1)
    p = _panel([y, y[:20], np.full(40, 5.0)])  # enough, fewer than two seasons, constant
    fc = seasonal_ets_forecast(p, 3, 12)
    assert torch.isfinite(fc[0]).all() and torch.isnan(fc[1:]).all()
    assert torch.isnan(seasonal_ets_forecast(p, 3, 1)).all()  # no season
    assert torch.isnan(seasonal_ets_forecast(_panel([_ana(200, 52, .2, .1)]), 3, 52)).all()  # above MAX_SEASON


def _monthly(n_series=6, n=96):
    t = np.arange(n)
    return pd.concat([pd.DataFrame({"unique_id": f"s{i}", "ds": pd.date_range("2010-01-01", periods=n, freq="MS"),
                                    "y": _ana(n, 12, 0.2, 0.3, level=100 + 5 * i, seed=i) + 0.1 * t})
                      for i in range(n_series)])


def test_the_option_adds_a_fourth_weight_and_saves_it(tmp_path):
    df = _monthly()
    plain = Forecaster(12, **TINY).fit(df)
    f = Forecaster(12, seasonal_ets=True, **TINY).fit(df)
    assert len(plain.weights_) == 3 and len(f.weights_) == 4 and abs(sum(f.weights_) - 1) < 1e-9
    assert f.weights_[0] >= 0.3 and f.weights_[1] >= 0.1 and f.weights_[2] >= 0.1  # halfway to (0.6, 0.2, 0.2, 0)
    fc = f.predict()
    f.save(tmp_path / "m")
    assert len(json.loads((tmp_path / "m" / "forecaster.json").read_text())["weights"]) == 4
    pd.testing.assert_frame_equal(Forecaster.load(tmp_path / "m").predict(), fc, check_exact=True)
    # where ETS(A,N,A) has no weight the forecasts are the plain ones
    if f.weights_[3] == 0:
        pd.testing.assert_frame_equal(fc, plain.predict(), check_exact=True)
    # numbers (season 1) and fixed weights: three weights, as without the option
    numbers = df.assign(ds=df.groupby("unique_id").cumcount())
    assert len(Forecaster(12, seasonal_ets=True, **TINY).fit(numbers).weights_) == 3
    fixed = Forecaster(12, seasonal_ets=True, theta=0.2, damped=0.2, **TINY).fit(df)
    assert fixed.weights_ == pytest.approx((0.6, 0.2, 0.2))
    with pytest.raises(ConfigError, match="^Forecaster: seasonal_ets must be True or False, got 'yes'$"):
        Forecaster(12, seasonal_ets="yes")


def test_the_fourth_weight_moves_the_forecast_by_its_share():
    """The point forecast is the weighted sum: with the fourth weight set by hand, the change from the
    three-weight forecast is that weight times (ETS(A,N,A) - the RNN median) (no floor reached)."""
    from rnnkit.tasks.forecast.combine import combine_with_partners, partner_forecasts

    df = _monthly(3, 72)
    panel = long_to_panel(df, "unique_id", "y")
    q = torch.stack([torch.full((3, 12), v, dtype=torch.float64) for v in (90.0, 100.0, 110.0)], dim=-1)
    base = combine_with_partners(q, panel, 1, 12, 12, True, 0.2, 0.2)
    more = combine_with_partners(q, panel, 1, 12, 12, True, 0.2, 0.2, 0.1)
    ets = partner_forecasts(panel, 12, 12, True, 3)[2]
    np.testing.assert_allclose((more - base)[:, :, 1].numpy(), (0.1 * (ets - 100.0)).numpy(), rtol=1e-9, atol=1e-9)

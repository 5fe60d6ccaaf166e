"""What both combination partners of the Forecaster (Theta, damped trend) promise."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from rnnkit.errors import ConfigError
from rnnkit.tasks.forecast.combine import combine_with_partners
from rnnkit.tasks.forecast.damped import damped_forecast
from rnnkit.tasks.forecast.estimator import Forecaster
from rnnkit.tasks.forecast.theta import theta_forecast
from tests.tasks.forecast.partners import frame, one, panel


@pytest.mark.parametrize("method, drift", [(theta_forecast, 0.0), (damped_forecast, 0.2)], ids=["theta", "damped"])
def test_series_of_different_lengths_in_one_panel_equal_their_separate_forecasts(method, drift):
    rng = np.random.default_rng(1)
    ys = {"long": 50 + np.cumsum(rng.normal(drift, 1, 60)) + 5 * np.sin(np.arange(60) * np.pi / 2),
          "short": 20 + np.cumsum(rng.normal(0, 1, 13)), "tiny": np.array([3.0, 4.0])}
    together = method(panel(ys), 5, 4, True).numpy()  # (3, 5)
    for i, (k, v) in enumerate(ys.items()):
        assert np.allclose(together[i], one(method, v, 5, 4), rtol=1e-5), k


@pytest.mark.parametrize("theta, damped", [(0.4, 0.0), (0.2, 0.3)])
def test_forecaster_median_is_the_weighted_combination(theta, damped):
    """median = (1 - θ - δ)·RNN + θ·Theta + δ·damped; the band keeps the RNN's shape."""
    rng = np.random.default_rng(0)
    series = {f"s{i}": 10 + i + np.cumsum(rng.normal(0.1, 0.5, 40)).clip(-5) for i in range(3)}
    df = frame(series)
    opts = dict(hidden=8, min_steps=20, max_steps=20, batch_size=16, lookbacks=(2.0,))
    rnn = Forecaster(4, theta=0.0, damped=0.0, **opts).fit(df).predict(level=(80,))
    comb = Forecaster(4, theta=theta, damped=damped, **opts).fit(df).predict(level=(80,))
    p = panel(series)
    th = theta_forecast(p, 4, 1, True).numpy().ravel()  # (3·4,)
    dm = damped_forecast(p, 4, 1, True).numpy().ravel()
    assert not np.allclose(th, dm)
    expected = (1 - theta - damped) * rnn["forecast"] + theta * th + damped * dm
    assert np.allclose(comb["forecast"], expected, rtol=1e-5)
    # log scale: the band is scaled by combined / RNN median
    assert np.allclose(comb["hi-80"] / comb["forecast"], rnn["hi-80"] / rnn["forecast"], rtol=1e-5)


def _falling() -> dict[str, np.ndarray]:
    """Positive series that fall steeply toward 0: both partners extrapolate below 0 (checked)."""
    rng = np.random.default_rng(3)
    return {"fall": np.linspace(100, 4, 30) + rng.normal(0, 0.5, 30),
            "fall2": np.linspace(60, 3, 30) + rng.normal(0, 0.3, 30),
            "flat": 50 + rng.normal(0, 1, 30)}


def test_combination_below_the_rnn_band_stops_at_its_lowest_quantile():
    """Positive panel: max(weighted sum, lowest RNN quantile); everywhere else the weighted sum."""
    p = panel(_falling())
    th, dm = theta_forecast(p, 12, 1, True).double(), damped_forecast(p, 12, 1, True).double()  # (3, 12)
    med = p.values[:, -1:].double().expand(-1, 12).clone()  # a flat RNN median at the last value
    q = torch.stack([0.5 * med, 0.8 * med, med, 1.25 * med], dim=-1)  # (3, 12, 4); median in column 2
    raw = 0.4 * med + 0.3 * th + 0.3 * dm
    assert (raw < 0).any() and (raw > 0.5 * med).any()  # both cases occur
    out = combine_with_partners(q, p, 2, 12, 1, True, 0.3, 0.3)
    assert torch.allclose(out[:, :, 2], torch.maximum(raw, 0.5 * med))
    assert torch.allclose(out / out[:, :, 2:3], q / med[:, :, None])  # the band keeps the RNN's shape
    only_median = combine_with_partners(med[:, :, None], p, 0, 12, 1, True, 0.3, 0.3)  # levels=(): no band
    assert torch.allclose(only_median[:, :, 0], raw.clamp(min=1e-12))
    alone = combine_with_partners(q, p, 2, 12, 1, True, 0.5, 0.5)  # no RNN share: its band bounds nothing
    assert torch.allclose(alone[:, :, 2], (0.5 * th + 0.5 * dm).clamp(min=1e-12))
    assert ((0.5 * th + 0.5 * dm) < 0.5 * med).any()  # where the RNN's floor would have moved it
    linear = combine_with_partners(q, p, 2, 12, 1, False, 0.3, 0.3)  # linear scale: no floor, negatives allowed
    assert torch.allclose(linear[:, :, 2], 0.4 * med + 0.3 * damped_forecast(p, 12, 1, False).double()
                          + 0.3 * theta_forecast(p, 12, 1, False).double())


def test_combined_forecast_of_a_falling_positive_series_stays_inside_the_rnn_band():
    """Regression: the combination used to go below 0 there and was clamped to 1e-12."""
    series = _falling()
    df, p = frame(series), panel(series)
    opts = dict(hidden=8, min_steps=20, max_steps=20, batch_size=16, lookbacks=(2.0,))
    rnn = Forecaster(12, theta=0.0, damped=0.0, **opts).fit(df).predict(level=(95,))
    comb = Forecaster(12, theta=0.3, damped=0.3, **opts).fit(df).predict(level=(95,))
    th = theta_forecast(p, 12, 1, True).double().numpy().ravel()
    dm = damped_forecast(p, 12, 1, True).double().numpy().ravel()
    raw = 0.4 * rnn["forecast"] + 0.3 * th + 0.3 * dm
    assert (raw < 0).any()  # the case the floor is for
    assert np.allclose(comb["forecast"], np.maximum(raw, rnn["lo-95"]), rtol=1e-5)  # lo-95: the lowest quantile
    assert (comb["forecast"] > 0).all() and (comb["hi-95"] > comb["lo-95"]).all()


def _to_zero() -> dict[str, np.ndarray]:
    """A never-negative panel (it holds a 0, so it is fitted on the linear scale) whose falling series the
    partners extrapolate below 0."""
    rng = np.random.default_rng(7)
    return {"fall": np.linspace(100, 0, 30), "flat": 50 + rng.normal(0, 1, 30)}


def test_nonnegative_floors_every_quantile_of_a_never_negative_panel_at_zero(tmp_path):
    opts = dict(hidden=8, min_steps=20, max_steps=20, batch_size=16, lookbacks=(2.0,), theta=0.45, damped=0.45)
    df = frame(_to_zero())
    with pytest.warns(UserWarning, match="log transform is off"):
        raw = Forecaster(6, nonnegative=False, **opts).fit(df)
    with pytest.warns(UserWarning, match="log transform is off"):
        f = Forecaster(6, **opts).fit(df)  # the default floors
    a, b = raw.predict(level=(80,)), f.predict(level=(80,))
    cols = ["forecast", "lo-80", "hi-80"]
    assert (a[cols].to_numpy() < 0).any()  # without the floor: below 0 (checked)
    np.testing.assert_array_equal(b[cols].to_numpy(), a[cols].to_numpy().clip(min=0))
    # a series with a negative value is not floored, nor is anything of a model fitted on one
    other = frame({"fall": np.linspace(100, 0, 30) - 1.0})
    np.testing.assert_array_equal(f.predict(other)["forecast"].to_numpy(), raw.predict(other)["forecast"].to_numpy())
    neg = df.assign(y=df.y.where(df.index != 40, -1.0))
    with pytest.warns(UserWarning, match="log transform is off"):
        g, h = Forecaster(6, **opts).fit(neg), Forecaster(6, nonnegative=False, **opts).fit(neg)
    np.testing.assert_array_equal(g.predict()["forecast"].to_numpy(), h.predict()["forecast"].to_numpy())
    f.save(tmp_path / "m")
    assert Forecaster.load(tmp_path / "m").options.nonnegative is True
    meta = json.loads((tmp_path / "m" / "forecaster.json").read_text())
    del meta["options"]["nonnegative"]  # saved before the option: no floor
    (tmp_path / "m" / "forecaster.json").write_text(json.dumps(meta))
    assert Forecaster.load(tmp_path / "m").options.nonnegative is False
    with pytest.raises(ConfigError, match="nonnegative"):
        Forecaster(4, nonnegative="auto")

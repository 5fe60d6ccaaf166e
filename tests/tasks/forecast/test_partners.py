"""What both combination partners of the Forecaster (Theta, damped trend) promise."""

from __future__ import annotations

import numpy as np
import pytest

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

"""Bands of a panel forecast by the partners alone, from their rolling-origin errors (empirical.py,
option ``partner_bands``)."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
import torch

from rnnkit.data.panel import long_to_panel
from rnnkit.errors import ConfigError
from rnnkit.tasks.forecast.combine import PARTNERS
from rnnkit.tasks.forecast.damped import damped_forecast
from rnnkit.tasks.forecast.empirical import MIN_ERRORS, WINSOR, _order_stat, origin_errors, partner_bands, winsorised
from rnnkit.tasks.forecast.estimator import Forecaster
from rnnkit.tasks.forecast.theta import theta_forecast

QS = [0.1, 0.5, 0.9]
TINY = {"hidden": 4, "min_steps": 5, "max_steps": 5, "batch_size": 8, "lookbacks": (2.0,), "levels": (80,)}


def long(*series) -> pd.DataFrame:
    return pd.concat([pd.DataFrame({"unique_id": f"s{i}", "ds": np.arange(len(y)), "y": np.asarray(y, float)})
                      for i, y in enumerate(series)], ignore_index=True)


def walk(rng, n: int, log: bool = True) -> np.ndarray:
    steps = rng.normal(0, 0.05 if log else 1.0, n)
    return 100 * np.exp(np.cumsum(steps)) if log else 10 + np.cumsum(steps)


def test_errors_are_those_of_the_partners_refitted_on_each_origin_one_at_a_time():
    rng = np.random.default_rng(0)
    a, b = walk(rng, 13), walk(rng, 9)  # origins k = 7..12 and 5..8 (the second half, at least 4 points)
    u, h = origin_errors(long_to_panel(long(a, b), "unique_id", "y"), 3, 1, True, 0.5, 0.5)
    want_u, want_h = [], []
    for y in (a, b):
        for k in range(max(4, math.ceil(len(y) / 2)), len(y)):
            p = long_to_panel(long(y[:k]), "unique_id", "y")
            f = (0.5 * theta_forecast(p, 3, 1, True).double() + 0.5 * damped_forecast(p, 3, 1, True).double())[0]
            for step in range(1, min(3, len(y) - k) + 1):
                want_u.append(math.log(y[k + step - 1] / float(f[step - 1])) / math.sqrt(step))
                want_h.append(step)
    assert h.tolist() == want_h
    assert u.numpy() == pytest.approx(np.array(want_u), rel=1e-5, abs=1e-6)


def test_a_linear_panel_scales_each_series_errors_by_its_mean_one_step_change():
    rng = np.random.default_rng(1)
    y = walk(rng, 12, log=False)
    panel = long_to_panel(long(y, 5 * y), "unique_id", "y")
    u, _ = origin_errors(panel, 2, 1, False, 0.5, 0.5)
    first, second = u[: len(u) // 2], u[len(u) // 2:]  # the same series five times larger: the same errors
    assert second.numpy() == pytest.approx(first.numpy(), rel=1e-4, abs=1e-5)
    flat = long_to_panel(long(np.full(12, 3.0)), "unique_id", "y")
    assert len(origin_errors(flat, 2, 1, False, 0.5, 0.5)[0]) == 0  # a constant series has no spread to give


def test_the_band_quantiles_are_conformal_order_statistics_and_hold_the_point_forecast():
    u = torch.arange(1.0, 10.0, dtype=torch.float64)  # 1..9
    assert _order_stat(u, 0.9) == 9.0 and _order_stat(u, 0.1) == 1.0  # ceil(10 * 0.9) = 9, floor(10 * 0.1) = 1
    assert _order_stat(torch.arange(100.0), 0.975) == 98.0  # the ceil(101 * 0.975) = 99th smallest
    rng = np.random.default_rng(2)
    panel = long_to_panel(long(walk(rng, 30)), "unique_id", "y")
    q = torch.full((1, 4, 3), 120.0, dtype=torch.float64)
    out = partner_bands(q, panel, 1, QS, 4, 1, True, 0.5, 0.5)
    u, _ = origin_errors(panel, 4, 1, True, 0.5, 0.5)
    u = u.sort().values
    root = torch.sqrt(torch.arange(1.0, 5.0, dtype=torch.float64))
    assert torch.equal(out[0, :, 1], q[0, :, 1])  # the point forecast is untouched
    assert out[0, :, 0].numpy() == pytest.approx((120 * torch.exp(min(_order_stat(u, 0.1), 0) * root)).numpy())
    assert out[0, :, 2].numpy() == pytest.approx((120 * torch.exp(max(_order_stat(u, 0.9), 0) * root)).numpy())
    assert (out[0, 1:, 2] > out[0, :-1, 2]).all() and (out[0, 1:, 0] < out[0, :-1, 0]).all()  # wider with h


def test_too_few_errors_keep_the_band_given():
    panel = long_to_panel(long([1.0, 2.0, 3.0, 4.0, 5.0, 6.0]), "unique_id", "y")  # origins 4, 5: 3 errors
    assert len(origin_errors(panel, 2, 1, True, 0.5, 0.5)[0]) < MIN_ERRORS
    q = torch.tensor([[[5.0, 6.0, 7.0]] * 2], dtype=torch.float64)
    assert torch.equal(partner_bands(q, panel, 1, QS, 2, 1, True, 0.5, 0.5), q)


def test_on_random_walks_the_80_band_covers_about_80_percent():
    """The property the band is for: on series whose future behaves like their past it covers about
    its level (300 log random walks of 40 points, the next 6 of each)."""
    rng = np.random.default_rng(3)
    inside = []
    for _ in range(300):
        y = walk(rng, 46)
        panel = long_to_panel(long(y[:40]), "unique_id", "y")
        point = 0.5 * theta_forecast(panel, 6, 1, True).double() + 0.5 * damped_forecast(panel, 6, 1, True).double()
        q = torch.stack([point, point, point], dim=-1)  # (1, 6, 3)
        out = partner_bands(q, panel, 1, QS, 6, 1, True, 0.5, 0.5)[0]
        inside.extend(((out[:, 0].numpy() <= y[40:]) & (y[40:] <= out[:, 2].numpy())).tolist())
    assert 0.7 <= np.mean(inside) <= 0.92


def test_the_forecaster_uses_the_partners_band_below_rnn_min_windows_and_saves_the_option(tmp_path):
    rng = np.random.default_rng(4)
    one = pd.DataFrame({"ds": np.arange(24), "y": walk(rng, 24)})  # 20 windows for h = 4: the partners alone
    new = Forecaster(4, **TINY).fit(one)
    old = Forecaster(4, partner_bands=False, **TINY).fit(one)
    assert new.weights_ == old.weights_ == PARTNERS
    a, b = new.predict(level=(80,)), old.predict(level=(80,))
    assert a["forecast"].tolist() == b["forecast"].tolist()  # the point forecast is the partners' either way
    panel = long_to_panel(long(one["y"].to_numpy()), "unique_id", "y")
    q = torch.tensor(b[["lo-80", "forecast", "hi-80"]].to_numpy(), dtype=torch.float64)[None]
    want = partner_bands(q, panel, 1, QS, 4, 1, True, 0.5, 0.5)[0].numpy()
    assert a[["lo-80", "forecast", "hi-80"]].to_numpy() == pytest.approx(want, rel=1e-6)
    new.save(tmp_path / "m")
    assert Forecaster.load(tmp_path / "m").predict(level=(80,)).equals(a)
    meta = json.loads((tmp_path / "m" / "forecaster.json").read_text())
    del meta["options"]["partner_bands"]  # saved before the option: the RNN's band, as it was
    (tmp_path / "m" / "forecaster.json").write_text(json.dumps(meta))
    back = Forecaster.load(tmp_path / "m")
    assert back.options.partner_bands is False
    assert back.predict(level=(80,))[["lo-80", "hi-80"]].to_numpy() == pytest.approx(b[["lo-80", "hi-80"]].to_numpy())
    with pytest.raises(ConfigError, match="partner_bands"):
        Forecaster(4, partner_bands="yes")


def test_union_keeps_the_wider_side_of_each_band():
    rng = np.random.default_rng(5)
    panel = long_to_panel(long(walk(rng, 30)), "unique_id", "y")
    point = torch.full((1, 4), 120.0, dtype=torch.float64)
    wide = torch.stack([point / 2, point, point * 2], dim=-1)  # wider than the partners' band everywhere
    assert torch.equal(partner_bands(wide, panel, 1, QS, 4, 1, True, 0.5, 0.5, union=True), wide)
    narrow = torch.stack([point - 1e-3, point, point + 1e-3], dim=-1)
    assert torch.equal(partner_bands(narrow, panel, 1, QS, 4, 1, True, 0.5, 0.5, union=True),
                       partner_bands(narrow, panel, 1, QS, 4, 1, True, 0.5, 0.5))


def test_a_forecaster_that_passed_its_windows_over_100_times_joins_its_band_with_the_partners(tmp_path):
    rng = np.random.default_rng(6)
    one = pd.DataFrame({"ds": np.arange(70), "y": walk(rng, 70)})  # 66 windows for h = 4: the RNN has a share
    many = TINY | {"batch_size": 256, "min_steps": 30, "max_steps": 30}  # 30 * 256 / 66 = 116 passes
    new, old = Forecaster(4, **many).fit(one), Forecaster(4, partner_bands=False, **many).fit(one)
    assert new.weights_ == old.weights_ and 0 < new.weights_[0] < 1
    a, b = new.predict(level=(80,)), old.predict(level=(80,))
    assert a["forecast"].tolist() == b["forecast"].tolist()
    panel = long_to_panel(long(one["y"].to_numpy()), "unique_id", "y")
    q = torch.tensor(b[["lo-80", "forecast", "hi-80"]].to_numpy(), dtype=torch.float64)[None]
    want = partner_bands(q, panel, 1, QS, 4, 1, True, *new.weights_[1:], union=True)[0].numpy()
    assert a[["lo-80", "forecast", "hi-80"]].to_numpy() == pytest.approx(want, rel=1e-6)
    assert (a["hi-80"] - a["lo-80"] > b["hi-80"] - b["lo-80"]).any()  # it widened the memorised band
    new.save(tmp_path / "m")
    assert Forecaster.load(tmp_path / "m").predict(level=(80,)).equals(a)  # the window count is rebuilt on load
    fewer = TINY | {"batch_size": 256, "min_steps": 20, "max_steps": 20}  # 78 passes: the RNN's band as it is
    c = Forecaster(4, **fewer).fit(one).predict(level=(80,))
    d = Forecaster(4, partner_bands=False, **fewer).fit(one).predict(level=(80,))
    assert c.equals(d)


def test_one_collapsed_origin_does_not_make_the_band_astronomical():
    """M3 yearly's N0220 (validation split): at an origin of 6 points the damped trend runs into the floor
    and its log error is 16; unwinsorised, the 90 % band at h = 6 reached e^39 times the forecast."""
    y = np.array([1452.0, 1612.5, 696.0, 738.0, 163.5, 706.5, 2773.5, 3103.5, 2667.0, 4569.0, 6438.0])
    panel = long_to_panel(long(y), "unique_id", "y")
    u, _ = origin_errors(panel, 6, 1, True, 0.5, 0.5)
    assert float(u.max()) > 10  # the collapsed origin is there
    w = winsorised(u)
    med = float(u.median())
    s = 1.4826 * float((u - u.median()).abs().median())
    assert float(w.max()) == pytest.approx(min(float(u.max()), med + WINSOR * s))
    assert torch.equal(w[(u - med).abs() <= WINSOR * s], u[(u - med).abs() <= WINSOR * s])  # the rest untouched
    q = torch.full((1, 6, 3), 6000.0, dtype=torch.float64)
    out = partner_bands(q, panel, 1, QS, 6, 1, True, 0.5, 0.5)
    # the band is the other origins' (a volatile series: the max of the rest, 3.3 per sqrt(h), sets the 90 % one)
    assert float(out[0, -1, 2]) == pytest.approx(6000.0 * math.exp(float(w.max()) * math.sqrt(6)))
    assert float(out[0, -1, 2]) < 6000.0 * math.exp(10) < 6000.0 * math.exp(float(u.max()) * math.sqrt(6)) / 1e10
    assert torch.equal(winsorised(torch.tensor([0.0, 0.0, 0.0, 0.0, 1.0])), torch.tensor([0.0, 0.0, 0.0, 0.0, 1.0]))  # MAD 0: the SD

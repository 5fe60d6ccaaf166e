"""Interval bands scaled to their coverage on the window fit holds out (calibrate.py, option ``intervals``)."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
import torch

from rnnkit.errors import CheckpointError, ConfigError
from rnnkit.tasks.forecast.calibrate import CLIP, band_scales, scale_bands
from rnnkit.tasks.forecast.estimator import Forecaster

QS = (0.1, 0.5, 0.9)  # level 80
SMALL = {"hidden": 8, "min_steps": 20, "max_steps": 20, "batch_size": 16, "lookbacks": (2.0,), "levels": (80,),
         "intervals": "conformal"}


def band(f: float, below: float, above: float, S: int = 1, H: int = 9) -> torch.Tensor:
    """(S, H, 3) quantiles f - below, f, f + above everywhere."""
    return torch.tensor([f - below, f, f + above], dtype=torch.float64).expand(S, H, 3).clone()


def test_the_factor_is_the_conformal_order_statistic_of_the_stretch_each_point_needs():
    q = band(0.0, 2.0, 1.0)  # linear scale: half-widths 2 below, 1 above
    y = torch.tensor([[0.5, -1.0, 2.0, -3.0, 4.0, 0.0, -6.0, 1.5, 9.0]], dtype=torch.float64)
    r = sorted([0.5, 0.5, 2.0, 1.5, 4.0, 0.0, 3.0, 1.5, 9.0])  # |d| / the half-width on d's side
    k = math.ceil((9 + 1) * 0.8)  # 8th smallest of 9
    assert band_scales(q, y, QS, (80,), log=False) == {80: pytest.approx(r[k - 1])}


def test_on_the_log_scale_the_stretch_is_a_ratio():
    q = torch.tensor([50.0, 100.0, 200.0], dtype=torch.float64).expand(1, 4, 3).clone()  # log widths log 2
    y = torch.tensor([[400.0, 25.0, 100.0 * 2 ** 0.5, 100.0]], dtype=torch.float64)  # stretches 2, 2, 0.5, 0
    k = math.ceil(5 * 0.8)  # the 4th of 4
    assert band_scales(q, y, QS, (80,), log=True)[80] == pytest.approx(sorted([2, 2, 0.5, 0])[k - 1])


def test_calibrated_bands_cover_the_scored_points_at_the_nominal_rate():
    rng = np.random.default_rng(0)
    y = torch.tensor(rng.normal(0, 3, (20, 10)))  # (S, H): spread 3, band of half-width 1
    q = band(0.0, 1.0, 1.0, 20, 10)
    c = band_scales(q, y, QS, (80,), log=False)[80]
    assert 2 < c < 6  # the band was far too narrow
    wide = scale_bands(q, {80: c}, QS, log=False)
    inside = ((y >= wide[..., 0]) & (y <= wide[..., 2])).double().mean()
    raw = ((y >= q[..., 0]) & (y <= q[..., 2])).double().mean()
    assert raw < 0.4 and 0.8 <= inside < 0.85


def test_scaling_keeps_the_median_and_nests_the_levels():
    qs = (0.025, 0.1, 0.5, 0.9, 0.975)
    q = torch.tensor([8.0, 9.0, 10.0, 12.0, 13.0], dtype=torch.float64).expand(2, 3, 5).clone()
    out = scale_bands(q, {80: 3.0, 95: 1.0}, qs, log=False)  # the 80 % band would leave the 95 % one
    assert torch.equal(out[..., 2], q[..., 2])
    assert torch.equal(out[0, 0], torch.tensor([7.0, 8.0, 10.0, 13.0, 16.0], dtype=torch.float64))  # sorted again
    log = scale_bands(q, {80: 2.0, 95: 2.0}, qs, log=True)  # f (q / f)^c
    assert torch.allclose(log[1, 2], torch.tensor([10 * 0.8 ** 2, 10 * 0.9 ** 2, 10, 10 * 1.2 ** 2, 10 * 1.3 ** 2],
                                                  dtype=torch.float64))
    assert torch.equal(scale_bands(q, {}, qs, log=True), q)


def test_the_factor_is_clipped_and_unscorable_points_leave_it_at_one():
    q = band(0.0, 1.0, 1.0)
    assert band_scales(q, torch.full((1, 9), 1e6, dtype=torch.float64), QS, (80,), False)[80] == CLIP[1]
    assert band_scales(q, torch.zeros(1, 9, dtype=torch.float64), QS, (80,), False)[80] == CLIP[0]
    flat = band(5.0, 0.0, 0.0)  # a constant series' band: no width to stretch
    assert band_scales(flat, torch.full((1, 9), 6.0, dtype=torch.float64), QS, (80,), False) == {80: 1.0}


def one_series(n=60, seed=0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    return pd.DataFrame({"unique_id": "a", "ds": t, "y": 20 + 3 * np.sin(t / 2) + rng.normal(0, 1.5, n).cumsum() * 0.3})


def test_fit_scales_the_bands_of_the_same_model_and_keeps_its_point_forecast():
    df = one_series()
    conf = Forecaster(4, **SMALL).fit(df)
    raw = Forecaster(4, **(SMALL | {"intervals": "quantile"})).fit(df)  # same seeds: the same members and weights
    assert set(conf.band_scales_) == {80} and raw.band_scales_ == {}
    assert conf.weights_ == raw.weights_
    a, b = conf.predict(level=(80,)), raw.predict(level=(80,))
    assert a["forecast"].equals(b["forecast"])
    c = conf.band_scales_[80]
    assert c != 1.0
    assert np.allclose(a["lo-80"], a["forecast"] * (b["lo-80"] / b["forecast"]) ** c)  # positive: log scale
    assert np.allclose(a["hi-80"], a["forecast"] * (b["hi-80"] / b["forecast"]) ** c)


def test_fixed_weights_still_calibrate_and_quantile_skips_the_held_out_fit(monkeypatch):
    from rnnkit.tasks.forecast import estimator

    calls = []
    real = estimator.held_out
    monkeypatch.setattr(estimator, "held_out", lambda *a, **k: calls.append(1) or real(*a, **k))
    df = one_series()
    assert set(Forecaster(4, theta=0.0, damped=0.0, **SMALL).fit(df).band_scales_) == {80} and len(calls) == 1
    assert Forecaster(4, theta=0.0, damped=0.0, **(SMALL | {"intervals": "quantile"})).fit(df).band_scales_ == {}
    assert len(calls) == 1


def test_save_load_keeps_the_factors_old_files_keep_raw_bands_and_bad_ones_are_refused(tmp_path):
    f = Forecaster(4, **SMALL).fit(one_series())
    f.save(tmp_path / "m")
    g = Forecaster.load(tmp_path / "m")
    assert g.band_scales_ == f.band_scales_ and g.predict(level=(80,)).equals(f.predict(level=(80,)))
    path = tmp_path / "m" / "forecaster.json"
    meta = json.loads(path.read_text())
    old = {k: v for k, v in meta.items() if k != "band_scales"}
    old["options"] = {k: v for k, v in meta["options"].items() if k != "intervals"}
    path.write_text(json.dumps(old))  # saved before calibration: the raw bands, and a refit keeps them
    g = Forecaster.load(tmp_path / "m")
    assert g.band_scales_ == {} and g.options.intervals == "quantile"
    assert not g.predict(level=(80,)).equals(f.predict(level=(80,)))
    for bad in ({"80": -1.0}, {"80": float("nan")}, {"95": 1.2}, {"80": "wide"}):
        path.write_text(json.dumps(meta | {"band_scales": bad}))
        with pytest.raises(CheckpointError) as e:
            Forecaster.load(tmp_path / "m")
        assert "band_scales" in str(e.value) and "\n" not in str(e.value)


def test_the_default_keeps_the_pinball_quantiles_and_an_unknown_method_is_a_config_error():
    """Calibrated on the held-out window, panels' bands got worse on the M validation split (thirteenth session)."""
    assert Forecaster(4).options.intervals == "quantile"
    with pytest.raises(ConfigError, match="intervals must be"):
        Forecaster(4, intervals="bootstrap")

"""Combination weights chosen on a held-out window inside `Forecaster.fit` (select.py, combine.py)."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
import torch

from rnnkit.data.panel import long_to_panel
from rnnkit.errors import ConfigError
from rnnkit.tasks.forecast.combine import PARTNERS, PRIOR, held_out, validation_weights
from rnnkit.tasks.forecast.damped import damped_forecast
from rnnkit.tasks.forecast.estimator import Forecaster
from rnnkit.tasks.forecast.metrics import mase_scale
from rnnkit.tasks.forecast.select import choose_weights, holdout, mase_scales, simplex_grid
from rnnkit.tasks.forecast.theta import theta_forecast

TINY = dict(hidden=8, min_steps=20, max_steps=20, batch_size=16, lookbacks=(2.0,))


def frame(series: dict[str, np.ndarray]) -> pd.DataFrame:
    return pd.concat([pd.DataFrame({"unique_id": k, "ds": np.arange(len(v)), "y": v}) for k, v in series.items()],
                     ignore_index=True)


def walks(n=3, length=40, seed=0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return frame({f"s{i}": 10 + i + np.cumsum(rng.normal(0.1, 0.5, length)).clip(-5) for i in range(n)})


def test_simplex_grid_is_every_weight_vector_on_the_simplex():
    g = simplex_grid(3, 20)
    assert g.shape == (math.comb(22, 2), 3)  # compositions of 20 into 3 parts
    assert (g >= 0).all() and torch.allclose(g.sum(1), torch.ones(len(g), dtype=torch.float64))
    assert len({tuple(r) for r in g.tolist()}) == len(g)


def test_a_component_that_is_exactly_right_gets_all_the_weight_before_shrinkage():
    rng = np.random.default_rng(1)
    y = torch.tensor(rng.normal(10, 2, (5, 4)))  # (S, H)
    comps = torch.stack([y + torch.tensor(rng.normal(0, 1, (5, 4))), y.clone(), y + 3.0])  # the second is exact
    scale = torch.ones(5, dtype=torch.float64)
    prior = torch.tensor(PRIOR, dtype=torch.float64)
    assert torch.allclose(choose_weights(comps, y, scale, prior, shrink=0.0), torch.tensor([0.0, 1.0, 0.0], dtype=torch.float64))
    w = choose_weights(comps, y, scale, prior)  # default: halfway to the prior
    assert torch.allclose(w, 0.5 * torch.tensor([0.0, 1.0, 0.0], dtype=torch.float64) + 0.5 * prior)
    assert abs(float(w.sum()) - 1) < 1e-12 and (w >= 0).all()


def test_series_without_a_scale_are_left_out_and_none_left_gives_the_prior():
    y = torch.ones(2, 3, dtype=torch.float64)
    comps = torch.stack([y.clone(), y * 2, y * 3])
    comps[1, 1] = 1.0  # component 1 is exact only on series 1 ...
    comps[0, 1] = 5.0  # ... where component 0 is far off
    prior = torch.tensor(PRIOR, dtype=torch.float64)
    nan = float("nan")
    assert torch.allclose(choose_weights(comps, y, torch.tensor([1.0, nan], dtype=torch.float64), prior, shrink=0.0),
                          torch.tensor([1.0, 0.0, 0.0], dtype=torch.float64))  # series 1 (component 1's) left out
    assert torch.equal(choose_weights(comps, y, torch.tensor([nan, nan], dtype=torch.float64), prior), prior)


def test_mase_scales_equal_the_metric_on_series_of_different_lengths():
    rng = np.random.default_rng(2)
    ys = {"long": rng.normal(5, 1, 30), "short": rng.normal(5, 1, 6), "flat": np.full(8, 3.0)}
    p = long_to_panel(frame(ys), "unique_id", "y")
    got = mase_scales(p.values, p.mask, 12)
    for i, k in enumerate(p.ids):
        want = mase_scale(ys[k].astype(np.float32), 12)
        assert (math.isnan(want) and math.isnan(got[i])) or abs(float(got[i]) - want) < 1e-5, k


def test_holdout_keeps_each_series_start_and_drops_what_is_too_short():
    df = frame({"a": np.arange(20.0), "b": np.arange(6.0), "c": np.arange(2.0)})
    inner, held = holdout(df, 4)
    assert inner.groupby("unique_id").size().to_dict() == {"a": 16}  # b keeps 2 < 3 points; c has nothing left
    assert held["y"].tolist() == [16.0, 17.0, 18.0, 19.0]
    assert holdout(frame({"a": np.arange(8.0)}), 4) is None  # 4 points left: no training window of H=4


def test_default_fit_chooses_weights_on_the_simplex_and_combines_with_them():
    df = walks()
    f = Forecaster(4, **TINY).fit(df)
    w = np.array(f.weights_)
    assert (w >= 0).all() and abs(w.sum() - 1) < 1e-12 and w[0] >= 0.3  # the prior's half keeps the RNN >= 0.3
    assert f.weights_ == validation_weights(f, f.history_)  # deterministic: the same choice again
    rnn = Forecaster(4, theta=0.0, damped=0.0, **TINY).fit(df).predict(level=(80,))
    p = long_to_panel(df, "unique_id", "y")
    th, dm = (fn(p, 4, 1, True).numpy().ravel() for fn in (theta_forecast, damped_forecast))
    out = f.predict(level=(80,))
    assert np.allclose(out["forecast"], w[0] * rnn["forecast"] + w[1] * th + w[2] * dm, rtol=1e-5)
    assert out.equals(Forecaster(4, **TINY).fit(df).predict(level=(80,)))  # same seed, same everything


def test_choice_follows_the_data_a_straight_line_panel_favours_the_trend_methods():
    t = np.arange(40.0)
    df = frame({f"s{i}": 5 + i + (0.5 + 0.1 * i) * t for i in range(3)})  # exact lines: the RNN (20 steps) is rough
    w = Forecaster(4, **TINY).fit(df).weights_
    assert w[0] < PRIOR[0]  # less than the prior's RNN share


def test_save_load_keeps_the_chosen_weights_and_old_files_use_the_options(tmp_path):
    f = Forecaster(4, **TINY).fit(walks())
    f.save(tmp_path / "m")
    g = Forecaster.load(tmp_path / "m")
    assert g.weights_ == f.weights_
    assert g.predict().equals(f.predict())
    meta = json.loads((tmp_path / "m" / "forecaster.json").read_text())
    del meta["weights"]  # a file saved before the weights were chosen in fit: fixed options then
    meta["options"].update(theta=0.3, damped=0.1)
    (tmp_path / "m" / "forecaster.json").write_text(json.dumps(meta))
    assert Forecaster.load(tmp_path / "m").weights_ == pytest.approx((0.6, 0.3, 0.1))
    del meta["options"]["rnn_min_windows"]  # saved before the option: a refit keeps the RNN's share
    (tmp_path / "m" / "forecaster.json").write_text(json.dumps(meta))
    assert Forecaster.load(tmp_path / "m").options.rnn_min_windows == 0


def test_set_weights_are_fixed_and_covariates_or_a_signed_seasonal_panel_keep_the_rnn_alone():
    df = walks()
    assert Forecaster(4, damped=0.3, **TINY).fit(df).weights_ == pytest.approx((0.5, PRIOR[1], 0.3))
    cov = df.assign(promo=(df.ds % 3 == 0).astype(float))
    assert Forecaster(4, **TINY).fit(cov, past=["promo"]).weights_ == (1.0, 0.0, 0.0)
    signed = df.assign(y=df.y - 12 + np.sin(df.ds))  # some values <= 0 and a season: no partners
    with pytest.warns(UserWarning, match="log transform is off"):
        assert Forecaster(4, season=4, **TINY).fit(signed).weights_ == (1.0, 0.0, 0.0)


def test_held_out_without_partners_runs_neither_and_gives_zeros(monkeypatch):
    from rnnkit.tasks.forecast import combine

    monkeypatch.setattr(combine, "theta_forecast", lambda *a: pytest.fail("Theta ran"))
    monkeypatch.setattr(combine, "damped_forecast", lambda *a: pytest.fail("damped ran"))
    f = Forecaster(4, **TINY)
    f.log_ = True
    held = held_out(f, walks(), partners=False)
    assert held.partners.shape == (2, 3, 4) and not held.partners.any()
    assert held.rnn.shape == (3, 4, len(f.quantiles)) and held.actual.shape == (3, 4)


def test_a_panel_too_short_to_hold_out_uses_the_prior():
    df = frame({"a": np.linspace(1, 2, 7), "b": np.linspace(2, 3, 6)})  # no series keeps > H = 4 points
    assert Forecaster(4, rnn_min_windows=0, **TINY).fit(df).weights_ == PRIOR


def test_a_panel_of_fewer_than_rnn_min_windows_windows_gets_the_partners_alone(monkeypatch):
    """Thirteenth session: one series of 20-40 windows is forecast better without the RNN's median."""
    from rnnkit.tasks.forecast import estimator

    calls = []
    monkeypatch.setattr(estimator, "held_out", lambda *a, **k: calls.append(1))
    one = frame({"a": 10 + np.sin(np.arange(30.0))})  # W = 30 - 4 = 26
    f = Forecaster(4, **TINY).fit(one)
    assert f.windows_ == 26 and f.weights_ == PARTNERS == (0.0, 0.5, 0.5) and calls == []  # no held-out fit
    p = long_to_panel(one, "unique_id", "y")
    mean = 0.5 * (theta_forecast(p, 4, 1, True) + damped_forecast(p, 4, 1, True)).double().numpy().ravel()
    out = f.predict(level=(80, 95))
    assert np.allclose(out["forecast"], np.maximum(mean, 1e-12), rtol=1e-6)  # not floored at the RNN's band
    assert Forecaster(4, rnn_min_windows=26, **TINY).fit(one).weights_ != PARTNERS  # 26 windows are enough
    assert Forecaster(4, theta=0.1, **TINY).fit(one).weights_ == pytest.approx((0.7, 0.1, 0.2))  # set: kept
    with pytest.raises(ConfigError, match="rnn_min_windows"):
        Forecaster(4, rnn_min_windows=-1)


def test_the_geometric_loss_follows_most_series_the_mean_follows_one_large_error():
    """Component 0 is 10 % off on four series and exact on the fifth; component 1 is exact on the
    four but 20x off on the fifth. The mean MASE is dominated by that one error (component 0);
    the mean of the logs (the default) counts each series by its relative error (component 1)."""
    y = torch.full((5, 3), 10.0, dtype=torch.float64)  # (S, H)
    a, b = y * 1.1, y.clone()
    a[4], b[4] = y[4], y[4] * 21
    comps = torch.stack([a, b, y * 2])
    scale, prior = torch.ones(5, dtype=torch.float64), torch.tensor(PRIOR, dtype=torch.float64)
    mean = choose_weights(comps, y, scale, prior, shrink=0.0, loss="mean")
    geo = choose_weights(comps, y, scale, prior, shrink=0.0)
    assert mean[0] > mean[1] and geo[1] > geo[0]
    assert torch.equal(geo, choose_weights(comps, y, scale, prior, shrink=0.0, loss="geometric"))
    with pytest.raises(ValueError, match="loss must be one of"):
        choose_weights(comps, y, scale, prior, loss="median")


def test_fit_scores_the_weights_with_the_weight_loss_option(monkeypatch):
    import rnnkit.tasks.forecast.combine as combine

    seen = []
    real = combine.choose_weights
    monkeypatch.setattr(combine, "choose_weights", lambda *a, **k: seen.append(k["loss"]) or real(*a, **k))
    Forecaster(4, **TINY).fit(walks())
    Forecaster(4, weight_loss="mean", **TINY).fit(walks())
    assert seen == ["geometric", "mean"]
    with pytest.raises(ConfigError, match="weight_loss must be geometric or mean, got 'log'"):
        Forecaster(4, weight_loss="log")


def test_a_model_saved_before_weight_loss_existed_keeps_the_mean_rule(tmp_path):
    f = Forecaster(4, **TINY).fit(walks())
    f.save(tmp_path / "m")
    assert Forecaster.load(tmp_path / "m").options.weight_loss == "geometric"
    meta = json.loads((tmp_path / "m" / "forecaster.json").read_text())
    del meta["options"]["weight_loss"]  # as written before the option
    (tmp_path / "m" / "forecaster.json").write_text(json.dumps(meta))
    g = Forecaster.load(tmp_path / "m")
    assert g.options.weight_loss == "mean" and g.weights_ == f.weights_
    assert g.predict().equals(f.predict())


def test_weight_windows_scores_the_weights_on_the_rows_of_two_held_out_windows_together():
    """Fifteenth session: the window before the last H points is held out too, by a copy fitted on
    what precedes it, and the (series, window) rows are scored together."""
    df = walks(n=3, length=40, seed=3)  # a panel on which the two windows favour different components
    f = Forecaster(4, weight_windows=2, **TINY).fit(df)
    later = held_out(f, f.history_)
    earlier = held_out(f, holdout(f.history_, 4)[0])  # fitted on 32 points, forecasting points 32-35
    assert torch.equal(earlier.actual, torch.tensor(df.groupby("unique_id").y.apply(lambda y: y.iloc[32:36].to_numpy())
                                                     .tolist(), dtype=torch.float64))
    mid = f.quantiles.index(0.5)
    comps = torch.cat([torch.cat([h.rnn[None, :, :, mid], h.partners]) for h in (later, earlier)], dim=1)  # (3, 6, 4)
    scales = torch.cat([mase_scales(h.panel.values, h.panel.mask, 1) for h in (later, earlier)])
    want = choose_weights(comps, torch.cat([later.actual, earlier.actual]), scales,
                          torch.tensor(PRIOR, dtype=torch.float64))
    assert f.weights_ == tuple(float(v) for v in want)
    one = Forecaster(4, **TINY).fit(df).weights_  # the last window alone: a different choice here
    assert one == validation_weights(Forecaster(4, **TINY).fit(df), f.history_, later) and one != f.weights_


def test_weight_windows_stops_where_no_series_is_long_enough_and_is_saved(tmp_path, monkeypatch):
    from rnnkit.tasks.forecast import combine

    fits = []
    real = combine.held_out
    monkeypatch.setattr(combine, "held_out", lambda f, long, **k: fits.append(long.groupby("unique_id").size().max())
                        or real(f, long, **k))
    df = walks(n=2, length=20)  # fit's own window is points 16-19 (estimator's held_out, not counted here)
    f = Forecaster(4, weight_windows=9, rnn_min_windows=0, **TINY).fit(df)
    assert fits == [16, 12, 8]  # windows at 12-15 and 8-11; from 8 points a copy would train on 4 = H: none, stop
    assert all(0 <= v <= 1 for v in f.weights_) and abs(sum(f.weights_) - 1) < 1e-12
    f.save(tmp_path / "m")
    assert Forecaster.load(tmp_path / "m").options.weight_windows == 9
    meta = json.loads((tmp_path / "m" / "forecaster.json").read_text())
    del meta["options"]["weight_windows"]  # saved before the option: one window
    (tmp_path / "m" / "forecaster.json").write_text(json.dumps(meta))
    assert Forecaster.load(tmp_path / "m").options.weight_windows == 1
    for bad in (0, 1.5, True):
        with pytest.raises(ConfigError, match="weight_windows"):
            Forecaster(4, weight_windows=bad)

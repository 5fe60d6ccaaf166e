"""What the `Forecaster` adds around its RNN: the statistical partners mixed into the
median, with weights fixed or chosen on a validation window, and each series' future time stamps.

    q = combine_with_partners(q, panel, mid, horizon, season, log, theta=0.2, damped=0.2)
    w = validation_weights(forecaster, long)          # (3,) RNN, Theta, damped; select.py
    ds = future_stamps(long, ids, horizon)            # (S * H,), series after series
"""
from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pandas as pd
import torch

from rnnkit.data.panel import Panel, long_to_panel
from rnnkit.errors import DataError
from rnnkit.tasks.forecast.damped import damped_forecast
from rnnkit.tasks.forecast.select import choose_weights, holdout, mase_scales
from rnnkit.tasks.forecast.theta import theta_forecast

__all__ = ["combine_with_partners", "future_stamps", "partner_forecasts", "validation_weights", "PRIOR"]

PRIOR = (0.6, 0.2, 0.2)  # RNN, Theta, damped: the fixed weights chosen on M1/M3 validation (docs/forecaster.md)


def validation_weights(forecaster, long: pd.DataFrame) -> tuple[float, float, float]:
    """(RNN, Theta, damped) weights chosen on the last ``horizon`` points of every series.

    A copy of ``forecaster`` with the same options (its RNN members only) is fitted on ``long`` without
    those points, the three components forecast them, and ``select.choose_weights`` picks
    the weights (halfway between the grid's best and ``PRIOR``). ``PRIOR`` when there is
    nothing to validate on: no series longer than 2 horizons, or a held-out panel the
    copy cannot fit (e.g. only constant series left)."""
    H, m = forecaster.horizon, forecaster.season
    split = holdout(long, H)
    if split is None:
        return PRIOR
    inner, held = split
    opts = dataclasses.asdict(forecaster.options) | {"theta": 0.0, "damped": 0.0}
    try:
        with warnings.catch_warnings():  # the copy's warnings (short or constant series) repeat fit's
            warnings.simplefilter("ignore")
            copy = type(forecaster)(H, m, **opts)  # weights_ (1, 0, 0): its predict is the RNN's median
            copy._fit_rnn(inner, "unique_id", "ds", "y", None, None, None)  # not fit: no validation inside
            out = copy.predict(level=())
    except DataError:
        return PRIOR
    panel = long_to_panel(inner, "unique_id", "y")
    S = len(panel.ids)
    order = pd.Categorical(out["unique_id"], categories=panel.ids).codes  # the panel's series order
    rnn = out.assign(_s=order).sort_values("_s", kind="stable")["forecast"].to_numpy()  # (S * H,)
    theta, damped = partner_forecasts(panel, H, m, forecaster.log_)  # floored as in predict
    comps = torch.stack([torch.tensor(rnn, dtype=torch.float64).reshape(S, H), theta, damped])  # (3, S, H)
    actual = torch.tensor(held["y"].to_numpy(np.float64)).reshape(S, H)
    w = choose_weights(comps, actual, mase_scales(panel.values, panel.mask, m),
                       torch.tensor(PRIOR, dtype=torch.float64))
    return tuple(float(v) for v in w)


def partner_forecasts(panel: Panel, horizon: int, season: int, log: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """(Theta, damped) point forecasts (S, H) in float64; on a positive (log-scale) panel floored at 0.

    Both partners extrapolate a linear trend on the original scale, so a positive series
    that falls steeply gets negative forecasts from them (22-24 of M1 monthly's 617 per
    seed before the floor). A positive series cannot go below 0, and max(F, 0) is the value
    of the feasible set nearest to F: the floor keeps the partner's message (the series is
    falling to about nothing) without letting it cancel the RNN's positive median. With the
    floor the combination is at least (1 - w_theta - w_damped) times the RNN's median, so it
    is positive whenever the RNN keeps any weight (without it the combination went to 0 or
    below and was clamped to 1e-12)."""
    theta = theta_forecast(panel, horizon, season, log).double()
    damped = damped_forecast(panel, horizon, season, log).double()
    if log:
        theta, damped = theta.clamp(min=0), damped.clamp(min=0)
    return theta, damped


def combine_with_partners(q: torch.Tensor, panel: Panel, mid: int, horizon: int, season: int, log: bool,
                          theta: float, damped: float) -> torch.Tensor:
    """The RNN quantiles q (S, H, Q) moved so that their median (column ``mid``) becomes
    (1 - w - wd) RNN + w Theta + wd damped trend (w = theta, wd = damped), the partners
    floored at 0 on a log scale (``partner_forecasts``).

    The band keeps the RNN's shape: on a log scale every quantile is multiplied by
    combined / median, on a linear scale shifted by combined - median. The caller passes
    zero weights where the partners do not apply (the Forecaster: a panel that is neither
    positive nor unseasonal, or a model fitted with covariates, which the partners cannot see).
    """
    if theta + damped == 0:
        return q
    med = q[:, :, mid]  # (S, H)
    th, dm = partner_forecasts(panel, horizon, season, log)  # (S, H) each
    comb = (1 - theta - damped) * med + theta * th + damped * dm  # (S, H)
    if log:
        comb = comb.clamp(min=1e-12)  # only reached when the RNN has no weight and both partners are 0
        return q * (comb / med.clamp(min=1e-12))[:, :, None]
    return q + (comb - med)[:, :, None]


def future_stamps(long: pd.DataFrame, ids: list[str], horizon: int) -> np.ndarray:
    """Each series' next ``horizon`` time stamps (integer steps or the inferred frequency),
    series after series in the order of ``ids``: (S * H,)."""
    last = long.groupby("unique_id", sort=False)["ds"].last().reindex(ids)
    ds = long["ds"]
    steps = np.arange(1, horizon + 1)
    if pd.api.types.is_datetime64_any_dtype(ds):
        longest = long[long["unique_id"] == long["unique_id"].value_counts().idxmax()]["ds"]
        with warnings.catch_warnings():  # pandas 3 warns that infer_freq will return an offset
            warnings.simplefilter("ignore")
            freq = pd.infer_freq(longest.iloc[-20:]) if len(longest) >= 3 else None
        if freq is None:
            delta = longest.diff().median() if len(longest) > 1 else pd.Timedelta(days=1)
            return np.concatenate([t + delta * steps for t in last])
        return np.concatenate([pd.date_range(t, periods=horizon + 1, freq=freq)[1:] for t in last])
    diffs = long.groupby("unique_id", sort=False)["ds"].diff().dropna()
    step = diffs.median() if len(diffs) else 1
    return (last.to_numpy()[:, None] + step * steps).ravel()

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

__all__ = ["combine_with_partners", "future_stamps", "validation_weights", "PRIOR"]

PRIOR = (0.6, 0.2, 0.2)  # RNN, Theta, damped: the fixed weights chosen on M1/M3 validation (docs/forecaster.md)


def validation_weights(forecaster, long: pd.DataFrame) -> tuple[float, float, float]:
    """(RNN, Theta, damped) weights chosen on the last ``horizon`` points of every series.

    A copy of ``forecaster`` with the same options (its RNN members only) is fitted on ``long`` without
    those points, the three components forecast them, and ``select.choose_weights`` picks
    the weights (halfway between the grid's best by the option ``weight_loss`` and ``PRIOR``). ``PRIOR`` when there is
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
    comps = torch.stack([torch.tensor(rnn, dtype=torch.float64).reshape(S, H),
                         theta_forecast(panel, H, m, forecaster.log_).double(),
                         damped_forecast(panel, H, m, forecaster.log_).double()])  # (3, S, H)
    actual = torch.tensor(held["y"].to_numpy(np.float64)).reshape(S, H)
    w = choose_weights(comps, actual, mase_scales(panel.values, panel.mask, m),
                       torch.tensor(PRIOR, dtype=torch.float64), loss=forecaster.options.weight_loss)
    return tuple(float(v) for v in w)


def combine_with_partners(q: torch.Tensor, panel: Panel, mid: int, horizon: int, season: int, log: bool,
                          theta: float, damped: float) -> torch.Tensor:
    """The RNN quantiles q (S, H, Q) moved so that their median (column ``mid``) becomes
    (1 - w - wd) RNN + w Theta + wd damped trend (w = theta, wd = damped).

    The band keeps the RNN's shape: on a log scale every quantile is multiplied by
    combined / median, on a linear scale shifted by combined - median. The caller passes
    zero weights where the partners do not apply (the Forecaster: a panel that is neither
    positive nor unseasonal, or a model fitted with covariates, which the partners cannot see).

    On a log scale (a positive panel) the combination is floored at the RNN's lowest
    quantile (column 0, e.g. the 2.5 % one for level 95): combined = max(combined, q_lo).
    Both partners extrapolate a straight trend, so on a series falling steeply they can
    pull the combination below everything the RNN thinks possible, even below 0 (18
    of M1 monthly's test forecasts on seed 0, which used to be clamped to
    1e-12, a forecast of nothing with a band of zero width). The floor changes only those
    points; wherever the combination stays inside the RNN's band it is the weighted sum
    as chosen (flooring each partner at 0 instead moved 12 unclamped M1 monthly series on
    the validation split and made them worse: benchmarks/RESULTS_forecast.md). Without
    a quantile below the median (``levels=()``) the floor is 1e-12 as before.
    """
    if theta + damped == 0:
        return q
    med = q[:, :, mid]  # (S, H)
    comb = (1 - theta - damped) * med  # (S, H)
    if theta:
        comb = comb + theta * theta_forecast(panel, horizon, season, log).double()
    if damped:
        comb = comb + damped * damped_forecast(panel, horizon, season, log).double()
    if log:
        floor = q[:, :, 0].clamp(min=1e-12) if mid > 0 else torch.full_like(med, 1e-12)  # (S, H)
        comb = torch.maximum(comb, floor)
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

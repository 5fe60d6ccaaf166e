"""What the `Forecaster` adds around its RNN: the statistical partners mixed into the
median, with weights fixed or chosen on a validation window.

    q = combine_with_partners(q, panel, mid, horizon, season, log, theta=0.2, damped=0.2)
    held = held_out(forecaster, long)                 # the last H points held out, forecast by a copy
    w = validation_weights(forecaster, long, held)    # (3,) RNN, Theta, damped; select.py
    w = point_weights(forecaster, long, held)         # what fit uses: the above, fixed, or the RNN / partners alone
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
from rnnkit.tasks.forecast.seasonal_ets import MAX_SEASON, seasonal_ets_forecast
from rnnkit.tasks.forecast.select import choose_weights, holdout, mase_scales
from rnnkit.tasks.forecast.theta import theta_forecast

__all__ = ["PARTNERS", "PRIOR", "PRIOR4", "HeldOut", "combine_with_partners", "held_out", "partner_forecasts",
           "partners_apply", "point_weights", "seasonal_partner", "validation_weights"]

PRIOR = (0.6, 0.2, 0.2)  # RNN, Theta, damped: the fixed weights chosen on M1/M3 validation (docs/forecaster.md)
PRIOR4 = (0.6, 0.2, 0.2, 0.0)  # ... and ETS(A,N,A) (option seasonal_ets): the held-out window must earn its share
PARTNERS = (0.0, 0.5, 0.5)  # a panel too small for the RNN (option rnn_min_windows; docs/forecaster.md)


@dataclasses.dataclass(frozen=True)
class HeldOut:
    """The last ``horizon`` points of every series, held out, and what was forecast for them by a
    copy of the Forecaster fitted on the rest: its RNN quantiles and the two partners."""
    panel: Panel  # the inner panel: what the copy was fitted on
    rnn: torch.Tensor  # (S, H, Q) the copy's RNN quantiles (its weights_ are (1, 0, 0))
    partners: torch.Tensor  # (2, S, H) Theta, damped on the inner panel; (3, S, H) with ETS(A,N,A) (seasonal_ets)
    actual: torch.Tensor  # (S, H) the held-out values


def held_out(forecaster, long: pd.DataFrame, partners: bool = True) -> HeldOut | None:
    """Fit a copy of ``forecaster`` (same options, its RNN members only) on ``long`` without the last
    ``horizon`` points of every series and forecast them (``partners=False``: Theta and the damped
    trend are not run and their forecasts are zeros). None when there is nothing to validate on:
    no series longer than 2 horizons, or a held-out panel the copy cannot fit (e.g. only constant
    series left)."""
    H, m = forecaster.horizon, forecaster.season
    split = holdout(long, H)
    if split is None:
        return None
    inner, held = split
    opts = dataclasses.asdict(forecaster.options) | {"theta": 0.0, "damped": 0.0}
    try:
        with warnings.catch_warnings():  # the copy's warnings (short or constant series) repeat fit's
            warnings.simplefilter("ignore")
            copy = type(forecaster)(H, m, **opts)  # weights_ (1, 0, 0): its predict is the RNN's
            copy._fit_rnn(inner, "unique_id", "ds", "y", None, None, None,  # not fit: no validation inside
                          stage="held-out fit, ")
            out = copy.predict(level=forecaster.options.levels)
    except DataError:
        return None
    panel = long_to_panel(inner, "unique_id", "y")
    S = len(panel.ids)
    out = out.assign(_s=pd.Categorical(out["unique_id"], categories=panel.ids).codes).sort_values("_s", kind="stable")
    cols = {0.5: "forecast"} | {round(0.5 - lv / 200, 6): f"lo-{lv}" for lv in forecaster.options.levels} \
        | {round(0.5 + lv / 200, 6): f"hi-{lv}" for lv in forecaster.options.levels}
    rnn = torch.stack([torch.tensor(out[cols[round(t, 6)]].to_numpy(np.float64)).reshape(S, H)
                       for t in forecaster.quantiles], dim=-1)  # (S, H, Q)
    k = 3 if seasonal_partner(forecaster) else 2
    comps = (partner_forecasts(panel, H, m, forecaster.log_, k) if partners
             else torch.zeros(k, S, H, dtype=torch.float64))  # (k, S, H)
    return HeldOut(panel, rnn, comps, torch.tensor(held["y"].to_numpy(np.float64)).reshape(S, H))


def seasonal_partner(forecaster) -> bool:
    """Whether ETS(A,N,A) is a fourth partner: option ``seasonal_ets`` on a panel the partners apply to whose
    season it fits (2 to ``seasonal_ets.MAX_SEASON``)."""
    return forecaster.options.seasonal_ets and 2 <= forecaster.season <= MAX_SEASON and partners_apply(forecaster)


def partner_forecasts(panel: Panel, horizon: int, season: int, log: bool, k: int = 2) -> torch.Tensor:
    """(k, S, H) float64: Theta, the damped trend and, for k = 3, ETS(A,N,A), whose series too short for it
    (fewer than two seasons) take the damped trend's forecast in its place."""
    comps = [theta_forecast(panel, horizon, season, log).double(),
             damped_forecast(panel, horizon, season, log).double()]
    if k == 3:
        ets = seasonal_ets_forecast(panel, horizon, season)
        comps.append(torch.where(torch.isfinite(ets), ets, comps[1]))
    return torch.stack(comps)


def validation_weights(forecaster, long: pd.DataFrame, held: HeldOut | None = None) -> tuple[float, float, float]:
    """(RNN, Theta, damped) weights chosen on the last ``horizon`` points of every series
    (``held_out``; computed here when not given): the three components' forecasts of them,
    and ``select.choose_weights`` picks the weights (halfway between the grid's best by the
    option ``weight_loss`` and ``PRIOR``). ``PRIOR`` when there is nothing to validate on.

    With the option ``weight_windows`` = k > 1, the k - 1 windows of H points before it are held
    out too, each by a copy fitted on what precedes it (one RNN copy per window, so fit costs about
    one more RNN fit per extra window), and the weights are scored on the (series, window) rows of
    all of them together, each row scaled by its own history; a window with no series long enough
    ends the list."""
    held = held_out(forecaster, long) if held is None else held
    if held is None:
        return PRIOR
    windows = [held]  # option weight_windows: each earlier window held out of what the later one was fitted on
    inner = long
    for _ in range(forecaster.options.weight_windows - 1):
        split = holdout(inner, forecaster.horizon)
        earlier = None if split is None else held_out(forecaster, split[0])
        if earlier is None:
            break
        inner = split[0]
        windows.append(earlier)
    mid = forecaster.quantiles.index(0.5)
    comps = torch.cat([torch.cat([h.rnn[None, :, :, mid], h.partners]) for h in windows], dim=1)  # (3, rows, H)
    scales = torch.cat([mase_scales(h.panel.values, h.panel.mask, forecaster.season) for h in windows])
    prior = PRIOR4 if len(comps) == 4 else PRIOR
    w = choose_weights(comps, torch.cat([h.actual for h in windows]), scales,
                       torch.tensor(prior, dtype=torch.float64), loss=forecaster.options.weight_loss)
    return tuple(float(v) for v in w)


def partners_apply(forecaster) -> bool:
    """Whether Theta and the damped trend can forecast the fitted panel: it is positive (their seasonal
    indices are multiplicative) or has no season."""
    return forecaster.log_ or forecaster.season == 1


def point_weights(forecaster, long: pd.DataFrame | None, held: HeldOut | None = None) -> tuple[float, float, float]:
    """(RNN, Theta, damped) weights of the point forecast: the RNN alone where the partners do not
    apply (covariates, which they cannot see; a panel neither positive nor unseasonal, their seasonal
    indices being multiplicative), the options' when set (a None beside a set weight counts as in
    ``PRIOR``), ``PARTNERS`` for a panel of fewer than ``rnn_min_windows`` training windows, else
    chosen on the held-out window (``validation_weights``)."""
    f, o = forecaster, forecaster.options
    if f.cov_ is not None or not partners_apply(f):
        return (1.0, 0.0, 0.0)
    if o.theta is None and o.damped is None:
        few = f.windows_ < o.rnn_min_windows  # too few to train the RNN on (docs/forecaster.md)
        return PARTNERS if few else validation_weights(f, long, held)
    theta, damped = (PRIOR[1] if o.theta is None else o.theta), (PRIOR[2] if o.damped is None else o.damped)
    return (1.0 - theta - damped, float(theta), float(damped))


def combine_with_partners(q: torch.Tensor, panel: Panel, mid: int, horizon: int, season: int, log: bool,
                          theta: float, damped: float, seasonal: float = 0.0,
                          partners: torch.Tensor | None = None) -> torch.Tensor:
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
    a quantile below the median (``levels=()``), or with no RNN share (theta + damped = 1), the floor
    is 1e-12.

    ``seasonal``: the weight of ETS(A,N,A) (option ``seasonal_ets``; ``partner_forecasts``).
    ``partners`` (2 or 3, S, H): the partners' forecasts when already made (``HeldOut``).
    """
    if theta + damped + seasonal == 0:
        return q
    if seasonal and partners is None:  # ETS(A,N,A) falls back on the damped trend's forecast: all three at once
        partners = partner_forecasts(panel, horizon, season, log, 3)
    med = q[:, :, mid]  # (S, H)
    comb = (1 - theta - damped - seasonal) * med  # (S, H)
    if theta:
        comb = comb + theta * (theta_forecast(panel, horizon, season, log).double() if partners is None else partners[0])
    if damped:
        comb = comb + damped * (damped_forecast(panel, horizon, season, log).double() if partners is None else partners[1])
    if seasonal:
        comb = comb + seasonal * partners[2]
    if log:  # the RNN's band bounds a combination it takes part in, not the partners alone (PARTNERS)
        rnn_share = mid > 0 and theta + damped + seasonal < 1
        floor = q[:, :, 0].clamp(min=1e-12) if rnn_share else torch.full_like(med, 1e-12)  # (S, H)
        comb = torch.maximum(comb, floor)
        return q * (comb / med.clamp(min=1e-12))[:, :, None]
    return q + (comb - med)[:, :, None]

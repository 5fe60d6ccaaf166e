"""Bands for a panel forecast by Theta and the damped trend alone, from their own errors.

A panel of fewer than ``rnn_min_windows`` training windows (one short series) takes its point
forecast from the two partners (``combine.PARTNERS``). The RNN is still trained on its few
windows, but it fits them closely and its quantiles describe the windows it memorised: one M
series at a time, its 80 % band covered 0.17-0.48 of the next points (benchmarks/
RESULTS_forecast.md, thirteenth session). Here the band comes instead from the errors the
partners made on the series' own past, forecast from rolling origins (empirical prediction
intervals, as in Williams and Goodman 1971):

    origins   every k with max(4, ceil(n / 2)) <= k < n: the series' first k points, forecast
              by the same partner mix (one panel of truncated histories, one call each)
    errors    e = log(y_{k+h} / f_{k,h})  (linear panel: (y_{k+h} - f_{k,h}) / s, s the series'
              mean absolute one-step change), h = 1 .. min(H, n - k)
    pooled    u = e / sqrt(h) over every series, origin and step (a random walk's growth)
    robust    u winsorised at its median +- 5 robust standard deviations (1.4826 MAD): an origin
              whose forecast collapsed to the floor must not make the band astronomically wide
    quantile  tau < 0.5: the floor((N + 1) tau)-th smallest u (the smallest when that is 0);
              tau > 0.5: the ceil((N + 1) tau)-th (the largest when past N), as split conformal
    band      f_h · exp(c_tau sqrt(h))  (linear: f_h + c_tau sqrt(h) s), with c_tau <= 0 below
              the median and >= 0 above it, so every band holds the point forecast

Origins in the second half only: errors from much shorter histories than the one forecast
would be larger than its own. With fewer than ``MIN_ERRORS`` errors the RNN's band is kept.

The same band widens the RNN's where the RNN also had too little to learn from: when its
members passed over the panel's distinct training windows more than ``MEMORISED`` times
(the step floor on one series of a few hundred points; the budget rule's own is 8 passes and
no M panel passes 77), the band is the union of the two, around the combined point forecast.
Option ``partner_bands`` (default True; models saved before it load with False).

Shapes: S series, R truncated histories, H horizon, Q quantiles.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from rnnkit.data.panel import Panel
from rnnkit.tasks.forecast.damped import damped_forecast
from rnnkit.tasks.forecast.select import mase_scales
from rnnkit.tasks.forecast.theta import theta_forecast

__all__ = ["MEMORISED", "MIN_ERRORS", "WINSOR", "origin_errors", "partner_bands", "winsorised"]

MEMORISED = 100  # passes over the training windows beyond which the RNN's band is joined with the partners'
MIN_ERRORS = 8  # fewer errors than this: the RNN's band is kept
WINSOR = 5.0  # errors beyond the median +- 5 robust standard deviations are pulled in (winsorised)
MIN_POINTS = 4  # the shortest truncated history an origin forecasts from


def _series(panel: Panel) -> list[np.ndarray]:
    T = panel.values.shape[1]
    return [panel.values[s, T - int(n):].double().numpy() for s, n in enumerate(panel.lengths.tolist())]


def _naive_scales(panel: Panel) -> torch.Tensor:
    """(S,) each series' mean absolute one-step change (``select.mase_scales`` at lag 1), 0 where
    it is zero or undefined (a constant series, one point)."""
    return torch.nan_to_num(mase_scales(panel.values, panel.mask, 1), nan=0.0)


def origin_errors(panel: Panel, horizon: int, season: int, log: bool, theta: float, damped: float):
    """The partners' scaled errors from rolling origins (module doc): (u (N,), h (N,)) float64."""
    series = _series(panel)
    scales = _naive_scales(panel).numpy()
    hists, tails, owner = [], [], []
    for s, y in enumerate(series):
        if not log and scales[s] <= 0:
            continue  # a constant series says nothing about spread (predict gives it no band)
        for k in range(max(MIN_POINTS, math.ceil(len(y) / 2)), len(y)):
            hists.append(y[:k])
            tails.append(y[k:k + horizon])
            owner.append(s)
    if not hists:
        return torch.zeros(0, dtype=torch.float64), torch.zeros(0, dtype=torch.float64)
    R, T = len(hists), max(map(len, hists))
    values, mask = np.zeros((R, T), np.float32), np.zeros((R, T), bool)
    for r, y in enumerate(hists):  # right-aligned, as rnnkit.data.panel lays series out
        values[r, T - len(y):], mask[r, T - len(y):] = y, True
    trunc = Panel([str(r) for r in range(R)], torch.from_numpy(values), torch.from_numpy(mask),
                  torch.tensor([len(y) for y in hists]))
    total = theta + damped
    f = (theta * theta_forecast(trunc, horizon, season, log).double()
         + damped * damped_forecast(trunc, horizon, season, log).double()) / total  # (R, H)
    u, steps = [], []
    for r, tail in enumerate(tails):
        h = np.arange(1, len(tail) + 1)
        fc = f[r, :len(tail)].numpy()
        e = np.log(tail / np.maximum(fc, 1e-12)) if log else (tail - fc) / scales[owner[r]]
        u.append(e / np.sqrt(h))
        steps.append(h)
    return torch.from_numpy(np.concatenate(u)), torch.from_numpy(np.concatenate(steps).astype(np.float64))


def winsorised(u: torch.Tensor) -> torch.Tensor:
    """u clipped to its median +- WINSOR robust standard deviations (1.4826 MAD; the standard
    deviation where the MAD is 0): one origin whose forecast collapsed (a steep early trend
    extrapolated to the floor, log error 16 on M3 yearly's N0220) must not set the band."""
    med = u.median()
    s = 1.4826 * (u - med).abs().median()
    s = s if s > 0 else u.std(unbiased=False)
    return u.clamp(float(med - WINSOR * s), float(med + WINSOR * s))


def _order_stat(u_sorted: torch.Tensor, tau: float) -> float:
    """The split-conformal order statistic of sorted u for quantile tau (module doc)."""
    n = len(u_sorted)
    if tau < 0.5:
        return float(u_sorted[max(math.floor((n + 1) * tau), 1) - 1])
    return float(u_sorted[min(math.ceil((n + 1) * tau), n) - 1])


def partner_bands(q: torch.Tensor, panel: Panel, mid: int, quantiles: list[float], horizon: int, season: int,
                  log: bool, theta: float, damped: float, union: bool = False) -> torch.Tensor:
    """q (S, H, Q) with every quantile but the median (column ``mid``, the point forecast) replaced
    by the partners' empirical band (module doc), or with ``union`` widened to it where it is wider
    (a memorising RNN's band, MEMORISED); q unchanged with fewer than MIN_ERRORS errors."""
    u, _ = origin_errors(panel, horizon, season, log, theta, damped)
    if len(u) < MIN_ERRORS:
        return q
    u = winsorised(u).sort().values
    point = q[:, :, mid]  # (S, H)
    root = torch.sqrt(torch.arange(1, horizon + 1, dtype=q.dtype))[None, :]  # (1, H)
    scale = None if log else _naive_scales(panel).to(q.dtype)[:, None]  # (S, 1)
    out = q.clone()
    for j, tau in enumerate(quantiles):
        if j == mid:
            continue
        c = _order_stat(u, tau)
        c = min(c, 0.0) if tau < 0.5 else max(c, 0.0)
        band = point * torch.exp(c * root) if log else point + c * root * scale
        if union:  # the wider side of the two bands
            band = torch.minimum(band, q[:, :, j]) if tau < 0.5 else torch.maximum(band, q[:, :, j])
        out[:, :, j] = band
    return out

"""Damped-trend exponential smoothing (damped Holt) for a whole panel at once: a second partner.

Additive damped trend (Gardner & McKenzie 1985; ETS(A,Ad,N)) on the same seasonally
adjusted series as the Theta method (``theta.py``), in error-correction form:

    yhat_t = l_{t-1} + phi b_{t-1}                        (one-step forecast)
    e_t    = x_t - yhat_t
    l_t    = l_{t-1} + phi b_{t-1} + alpha e_t
    b_t    = phi b_{t-1} + alpha beta e_t
    f_h    = l_n + (phi + phi^2 + ... + phi^h) b_n       (times the seasonal factors)

(alpha, beta, phi) are chosen on a grid for every series by the smallest sum of squared
one-step errors. For fixed parameters the recursion is linear in the initial state
(l_0, b_0), so every state is ``a_t + P_t (l_0, b_0)`` and the best initial state is the
solution of a 2 x 2 least-squares problem (a small ridge on b_0 keeps short series well
posed):
no Python loop per series, one loop over the panel's columns.

Shapes: S series, T panel columns, K parameter triples, H horizon.
"""

from __future__ import annotations

import itertools

import torch

from rnnkit.data.panel import Panel
from rnnkit.tasks.forecast.theta import seasonally_adjusted

__all__ = ["damped_forecast"]

_ALPHA = (0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9)
_BETA = (0.01, 0.05, 0.1, 0.2, 0.4)  # fraction of alpha: the trend gain is alpha beta <= alpha
_PHI = (0.8, 0.88, 0.94, 0.98)
GRID = torch.tensor(list(itertools.product(_ALPHA, _BETA, _PHI)), dtype=torch.float64)  # (K, 3)


def damped_forecast(panel: Panel, horizon: int, season: int, positive: bool) -> torch.Tensor:
    """(S, H) damped-trend point forecasts of every series in the panel (module doc)."""
    x, factors = seasonally_adjusted(panel, horizon, season, positive)  # (S, T), (S, H)
    S, T = x.shape
    m = panel.mask.double()
    scale = ((x.abs() * m).sum(1) / panel.lengths.double().clamp(min=1)).clamp(min=1e-12)[:, None]  # (S, 1)
    x = x / scale  # unit scale, so that the ridge means the same on every series
    al, ab, phi = (GRID[None, :, i] for i in range(3))  # (1, K) each
    ab = al * ab
    z = torch.zeros(S, GRID.shape[0], dtype=torch.float64)  # (S, K)
    # state = a + p l_0 + q b_0, for the level (l) and the trend (b)
    al_, pl, ql = z.clone(), z + 1, z.clone()
    ab_, pb, qb = z.clone(), z.clone(), z + 1
    srr, srd, srg, sdd, sdg, sgg = (z.clone() for _ in range(6))
    for t in range(T):
        mt = m[:, t: t + 1]  # (S, 1)
        c, d, g = al_ + phi * ab_, pl + phi * pb, ql + phi * qb  # one-step forecast = c + d l_0 + g b_0
        r = x[:, t: t + 1] - c
        srr += mt * r * r
        srd += mt * r * d
        srg += mt * r * g
        sdd += mt * d * d
        sdg += mt * d * g
        sgg += mt * g * g
        on = mt > 0
        al_, pl, ql, ab_, pb, qb = (
            torch.where(on, new, old) for new, old in (
                (c + al * r, al_), (d * (1 - al), pl), (g * (1 - al), ql),
                (phi * ab_ + ab * r, ab_), (phi * pb - ab * d, pb), (phi * qb - ab * g, qb)))
    ridge = 1e-3  # on b_0 only: a trend needs evidence, a level has its first point
    a11, a12, a22 = sdd, sdg, sgg + ridge
    det = a11 * a22 - a12 * a12
    l0 = (a22 * srd - a12 * srg) / det
    b0 = (a11 * srg - a12 * srd) / det
    sse = srr - 2 * (l0 * srd + b0 * srg) + l0 * l0 * sdd + 2 * l0 * b0 * sdg + b0 * b0 * sgg
    best = sse.argmin(1)  # (S,)
    rows = torch.arange(S)
    pick = lambda v: v[rows, best][:, None]  # noqa: E731  (S, 1)
    level = pick(al_) + pick(pl) * pick(l0) + pick(ql) * pick(b0)
    trend = pick(ab_) + pick(pb) * pick(l0) + pick(qb) * pick(b0)
    ph = GRID[best, 2][:, None]  # (S, 1)
    h = torch.arange(1, horizon + 1, dtype=torch.float64)[None, :]  # (1, H)
    damp = ph * (1 - ph ** h) / (1 - ph)  # phi + ... + phi^h
    return ((level + damp * trend) * scale * factors).float()  # (S, H)

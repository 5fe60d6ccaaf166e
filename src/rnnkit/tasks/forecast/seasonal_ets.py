"""ETS(A,N,A) for a whole panel at once: a level and an additive season, both moving.

A combination partner of the RNN (option ``seasonal_ets``; docs/forecaster.md): simple exponential
smoothing with an additive seasonal component that is updated by every error, the model AutoETS picks
on elec_equip (benchmarks/RESULTS_forecast.md, twenty-fourth session):

    e_t   = y_t - l_{t-1} - s_{p(t)}          p(t) = t mod m, the panel column's phase
    l_t   = l_{t-1} + alpha e_t
    s_p(t) <- s_p(t) + gamma e_t
    f_h   = l_n + s_{p(n + h)}

For fixed (alpha, gamma) the one-step errors are affine in the m + 1 initial states (l_0 and one
seasonal state per phase), so the initial states that minimise the squared errors solve an
(m + 1)-square least-squares system (a small ridge makes it solvable, since l_0 and a shift of every
seasonal state are the same model). Every point of an (alpha, gamma) grid (gamma <= 1 - alpha) is
solved so for every series, and each series takes the grid point of the least squared error. Each
series is divided by its mean absolute value first and its forecast multiplied back (the model is
scale-equivariant). Only tensor operations over the right-aligned, masked panel; the cost grows as
S · G · T · (m + 1)^2, so seasons above ``MAX_SEASON`` are not fitted.

A series with fewer than ``MIN_CYCLES`` seasons of points gets no fit (NaN rows; the caller falls back
to another partner).

Shapes: S series, T panel columns, G grid points, P = m + 1 initial states, H horizon.
"""

from __future__ import annotations

import torch

from rnnkit.data.panel import Panel

__all__ = ["MAX_SEASON", "MIN_CYCLES", "seasonal_ets_forecast"]

ALPHAS = (0.002, 0.01, 0.02, 0.05, 0.08, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.99)
GAMMAS = (0.0, 0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99)
MAX_SEASON = 24  # monthly, quarterly, hourly, ...: beyond, the least squares cost (m + 1)^2 per step and point
MIN_CYCLES = 2  # a series needs this many full seasons of points to be fitted
RIDGE = 1e-6
CHUNK = 2 ** 24  # series per chunk: S · G · P · P doubles at most this many


def _grid() -> tuple[torch.Tensor, torch.Tensor]:
    pairs = [(a, g) for a in ALPHAS for g in GAMMAS if g <= 1 - a]
    return (torch.tensor([a for a, _ in pairs], dtype=torch.float64),
            torch.tensor([g for _, g in pairs], dtype=torch.float64))


def _fit(y: torch.Tensor, mask: torch.Tensor, m: int, horizon: int) -> torch.Tensor:
    """(S, H) forecasts of the (scaled) rows of y (S, T) with mask (S, T)."""
    S, T = y.shape
    alpha, gamma = _grid()
    G, P = len(alpha), m + 1
    on_all = mask.double()
    cl = torch.zeros(S, G, dtype=torch.float64)  # the level as cl + Cl . x0, x0 = (l_0, s_0 .. s_{m-1})
    Cl = torch.zeros(S, G, P, dtype=torch.float64)
    Cl[:, :, 0] = 1
    cs = torch.zeros(S, G, m, dtype=torch.float64)  # the seasonal state of each phase, likewise
    Cs = torch.zeros(S, G, m, P, dtype=torch.float64)
    Cs[:, :, torch.arange(m), 1 + torch.arange(m)] = 1
    AtA = torch.zeros(S, G, P, P, dtype=torch.float64)  # sums over t of pC pC^T, pC (y_t - pc), (y_t - pc)^2
    Atb = torch.zeros(S, G, P, dtype=torch.float64)
    rr = torch.zeros(S, G, dtype=torch.float64)
    a, g = alpha[None, :], gamma[None, :]
    for t in range(T):
        p, on = t % m, on_all[:, t, None]  # (S, 1)
        if not bool(on.any()):
            continue
        pc, pC = cl + cs[:, :, p], Cl + Cs[:, :, p]  # the one-step prediction, affine in x0
        r = (y[:, t, None] - pc) * on  # (S, G); the error is r - pC . x0
        AtA += on[:, :, None, None] * pC[:, :, :, None] * pC[:, :, None, :]
        Atb += pC * r[:, :, None]
        rr += r * r
        step_c, step_C = on * r, on[:, :, None] * -pC  # the error's affine parts, zero where off
        cl, Cl = cl + a * step_c, Cl + a[:, :, None] * step_C
        cs[:, :, p] += g * step_c
        Cs[:, :, p] += g[:, :, None] * step_C
    eye = torch.eye(P, dtype=torch.float64)
    x0 = torch.linalg.solve(AtA + RIDGE * (1 + AtA.diagonal(dim1=-2, dim2=-1).mean(-1))[..., None, None] * eye,
                            Atb[..., None])[..., 0]  # (S, G, P)
    sse = rr - (x0 * Atb).sum(-1)  # (S, G): the least squared error at each grid point
    best = sse.argmin(dim=1)  # (S,)
    rows = torch.arange(S)
    x = x0[rows, best]  # (S, P)
    level = cl[rows, best] + (Cl[rows, best] * x).sum(-1)  # (S,)
    season = cs[rows, best] + (Cs[rows, best] * x[:, None, :]).sum(-1)  # (S, m)
    phases = (T - 1 + torch.arange(1, horizon + 1)) % m  # (H,)
    return level[:, None] + season[:, phases]


def seasonal_ets_forecast(panel: Panel, horizon: int, season: int) -> torch.Tensor:
    """(S, H) float64 ETS(A,N,A) forecasts (module doc); NaN rows for series that get no fit (fewer than
    ``MIN_CYCLES`` seasons of points, a constant series) and everywhere when the season is 1 or above
    ``MAX_SEASON``."""
    S, T = panel.values.shape
    out = torch.full((S, horizon), float("nan"), dtype=torch.float64)
    if not 2 <= season <= MAX_SEASON:
        return out
    y, mask = panel.values.double(), panel.mask
    n = mask.sum(1)
    scale = (y.abs() * mask).sum(1) / n.clamp(min=1)  # (S,)
    fit = (n >= MIN_CYCLES * season) & (n > season + 1) & (scale > 0)
    spread = torch.where(mask, y, 0.0).amax(1) - torch.where(mask, y, float("inf")).amin(1)
    fit &= spread > 0  # a constant series has nothing to fit (its forecast is its constant elsewhere)
    idx = torch.nonzero(fit).flatten()
    if len(idx) == 0:
        return out
    P = season + 1
    per = max(1, CHUNK // (len(_grid()[0]) * P * P))
    for start in range(0, len(idx), per):
        part = idx[start:start + per]
        keep = mask[part].any(0)  # drop the panel's leading columns no series of the chunk uses
        first = int(torch.nonzero(keep)[0])
        first -= first % season  # keep the columns' phases: a multiple of m
        z = y[part, first:] / scale[part, None]
        out[part] = _fit(z * mask[part, first:], mask[part, first:], season, horizon) * scale[part, None]
    return out

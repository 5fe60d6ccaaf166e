"""Combination weights chosen on a validation window held out inside `Forecaster.fit`.

The forecast is a convex combination of K component forecasts (the RNN ensemble's median,
Theta, the damped trend, ...): f = sum_k w_k F_k with w on the simplex (w_k >= 0, sum 1).
To choose w, ``fit`` holds out the last H points of every series, fits the components on
what is left, and scores every w of a simplex grid by a scale-free loss on the held-out
points (MASE: each series' absolute error over its in-sample seasonal-naive MAE):

    e_s(w) = mean_h |y_sh - sum_k w_k F_ksh| / scale_s                (S series, H steps: series s's MASE)
    L(w)   = mean_s log max(e_s(w), 1e-6)                            (loss="geometric", the default)
             mean_s e_s(w)                                            (loss="mean", before the seventh session)
    w*     = argmin_{w in grid} L(w)                                 (grid step 1/20)
    w      = (1 - kappa) w* + kappa w0                                (kappa = 1/2: halfway to the prior w0)

The geometric mean of the series' MASE (the mean of its logs) lets every series count by
how much better or worse a combination makes it, relative to its own error, so that a few
series with large errors on the one held-out window do not decide the weights for the
panel (on the validation split of M1/M3 it lowered the summed sMAPE by 0.08-0.11 and the
mean MASE by 0.1 % on two seeds: benchmarks/RESULTS_forecast.md, seventh session).

One window of H points is weak evidence (the series move on; a single series gives H
errors in all), so the choice is shrunk halfway toward the fixed prior weights w0
(0.6 RNN, 0.2 Theta, 0.2 damped). Every step is a tensor operation over the series and
horizon; the grid point with the smallest loss wins, ties to the first in grid order
(deterministic).

Shapes: K components, S series, H horizon, G grid points.
"""

from __future__ import annotations

import itertools

import pandas as pd
import torch

__all__ = ["simplex_grid", "choose_weights", "holdout", "mase_scales", "LOSSES"]


def simplex_grid(k: int, steps: int = 20) -> torch.Tensor:
    """(G, k) every weight vector with entries in {0, 1/steps, ..., 1} summing to 1."""
    rows = [c + (steps - sum(c),) for c in itertools.product(range(steps + 1), repeat=k - 1) if sum(c) <= steps]
    return torch.tensor(rows, dtype=torch.float64) / steps


def mase_scales(panel_values: torch.Tensor, mask: torch.Tensor, season: int) -> torch.Tensor:
    """(S,) in-sample MAE of seasonal naive over each series' observed points (naive when a
    series has no full season; NaN where it is zero or undefined)."""
    S, T = panel_values.shape
    y, m = panel_values.double(), mask
    out = torch.full((S,), float("nan"), dtype=torch.float64)
    n = m.sum(1)
    for lag in dict.fromkeys((season, 1)):  # seasonal first, naive where the series is too short for it
        if lag >= T:
            continue
        both = m[:, lag:] & m[:, :-lag]  # (S, T - lag)
        cnt = both.sum(1)
        mae = ((y[:, lag:] - y[:, :-lag]).abs() * both).sum(1) / cnt.clamp(min=1)
        use = torch.isnan(out) & (n > lag) & (cnt > 0) & (mae > 0)
        out = torch.where(use, mae, out)
    return out


LOSSES = ("geometric", "mean")


def choose_weights(components: torch.Tensor, actual: torch.Tensor, scale: torch.Tensor, prior: torch.Tensor,
                   shrink: float = 0.5, steps: int = 20, loss: str = "geometric") -> torch.Tensor:
    """(K,) weights on the simplex for the components (K, S, H) against actual (S, H) (module doc;
    ``loss``: "geometric" or "mean" over the series' MASE).

    Series whose scale is NaN or whose values are not finite are left out of the loss; with
    none left, the prior is returned."""
    F, y = components.double(), actual.double()
    ok = torch.isfinite(scale) & torch.isfinite(y).all(1) & torch.isfinite(F).all(2).all(0)  # (S,)
    prior = prior.double()
    if not bool(ok.any()):
        return prior
    F, y, sc = F[:, ok], y[ok], scale[ok]
    grid = simplex_grid(F.shape[0], steps)  # (G, K)
    if loss not in LOSSES:
        raise ValueError(f"choose_weights: loss must be one of {LOSSES}, got {loss!r}")
    agg = (lambda e: torch.log(e.clamp(min=1e-6)).mean()) if loss == "geometric" else (lambda e: e.mean())
    score = torch.stack([agg((torch.einsum("k,ksh->sh", w, F) - y).abs().mean(1) / sc) for w in grid])  # (G,)
    best = grid[int(torch.argmin(score))]
    return (1 - shrink) * best + shrink * prior


def holdout(long: pd.DataFrame, horizon: int, min_points: int = 3) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """(what fit sees, the held-out last ``horizon`` points) of a sorted long frame; series
    left with fewer than ``min_points`` points are dropped from both. None when no series
    keeps more than ``horizon`` points (nothing to train the components on)."""
    g = long.groupby("unique_id", sort=False)
    n, pos = g["y"].transform("size").to_numpy(), g.cumcount().to_numpy()
    kept = n - horizon >= min_points
    if not (kept & (n - horizon > horizon)).any():  # no series would give a training window
        return None
    inner = long[(pos < n - horizon) & kept]
    held = long[(pos >= n - horizon) & kept]
    return inner.reset_index(drop=True), held.reset_index(drop=True)

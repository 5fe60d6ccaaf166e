"""The classical Theta method for a whole panel at once: a combination partner of the RNN.

The Theta method (Assimakopoulos & Nikolopoulos 2000), in the form of Hyndman & Billah
(2003) that won M3, is simple exponential smoothing (SES) with a drift of half the
series' linear trend, on seasonally adjusted data:

    seasonal?  |r_m| > 1.645 sqrt((1 + 2 sum_{k<m} r_k^2) / n)     (r_k: autocorrelations)
    x_t        = y_t / exp(s_{t mod m})                             (classical indices, if seasonal)
    l_t        = l_{t-1} + alpha (x_t - l_{t-1})                    (SES, alpha and l_0 by least squares)
    f_h        = l_n + b/2 · (h - 1 + (1 - (1 - alpha)^n) / alpha)  (b: OLS slope of x on t)
    forecast   = f_h · exp(s_{n+h mod m})

Every step is a tensor operation over the right-aligned, masked panel
(``rnnkit.data.panel``): alpha is chosen on a grid for all series together, and for each
alpha the best l_0 has a closed form (the one-step errors are linear in l_0), so there is
no Python loop per series. Seasonal adjustment needs a positive panel (the indices are
multiplicative); on other panels the method runs unadjusted.

Shapes: S series, T panel columns, A alphas, H horizon.
"""

from __future__ import annotations

import torch

from rnnkit.data.panel import Panel, future_factors, seasonal_indices

__all__ = ["theta_forecast", "seasonal_test", "seasonally_adjusted"]

ALPHAS = torch.linspace(0.01, 0.99, 99, dtype=torch.float64)  # (A,)


def seasonal_test(panel: Panel, season: int) -> torch.Tensor:
    """(S,) bool: the lag-`season` autocorrelation is significant at 90 % (one-sided 95 %)."""
    S, T = panel.values.shape
    n = panel.lengths.double()
    if season < 2 or T <= season:
        return torch.zeros(S, dtype=torch.bool)
    y, m = panel.values.double(), panel.mask.double()
    mean = (y * m).sum(1) / n.clamp(min=1)
    d = (y - mean[:, None]) * m  # (S, T), zero on padding
    var = (d * d).sum(1).clamp(min=1e-300)
    r = torch.stack([(d[:, k:] * d[:, :-k]).sum(1) / var for k in range(1, season + 1)], 1)  # (S, m)
    stat = torch.sqrt((1 + 2 * (r[:, :-1] ** 2).sum(1)) / n.clamp(min=1))
    return (r[:, -1].abs() / stat > 1.645) & (panel.lengths >= 2 * season)


def seasonally_adjusted(panel: Panel, horizon: int, season: int, positive: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """(S, T) values divided by their classical seasonal indices where the season is
    significant (positive panels only; zero on padding), and the (S, H) factors that put
    the season back on forecasts (ones where nothing was divided out)."""
    S, T = panel.values.shape
    y, mask = panel.values.double(), panel.mask
    factors = torch.ones(S, horizon, dtype=torch.float64)
    if positive and season > 1:
        idx = seasonal_indices(panel, season, min_cycles=2).double()  # (S, m)
        idx = idx * seasonal_test(panel, season)[:, None]
        y = y / torch.exp(idx[:, torch.arange(T) % season]) * mask
        factors = future_factors(panel, idx, horizon).double()  # (S, H)
    return y, factors


def _ses(y: torch.Tensor, m: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Least-squares SES of every row of y (S, T) where m: (final level l_n (S,), alpha (S,))."""
    S, T = y.shape
    alpha = ALPHAS[None, :]  # (1, A)
    # l_t = a_t + b_t l_0 for every alpha; one-step error e_t = y_t - a_{t-1} - b_{t-1} l_0
    a = torch.zeros(S, len(ALPHAS), dtype=torch.float64)  # (S, A)
    b = torch.ones(S, len(ALPHAS), dtype=torch.float64)
    syy = torch.zeros_like(a)  # sum (y - a)^2
    syb = torch.zeros_like(a)  # sum (y - a) b
    sbb = torch.zeros_like(a)  # sum b^2
    for t in range(T):
        mt = m[:, t: t + 1]  # (S, 1)
        r = y[:, t: t + 1] - a
        syy += mt * r * r
        syb += mt * r * b
        sbb += mt * b * b
        a = torch.where(mt > 0, a + alpha * r, a)
        b = torch.where(mt > 0, b * (1 - alpha), b)
    l0 = syb / sbb.clamp(min=1e-300)  # (S, A) least-squares initial level
    best = (syy - syb * l0).argmin(1)  # (S,) smallest sum of squared one-step errors
    rows = torch.arange(S)
    return a[rows, best] + b[rows, best] * l0[rows, best], ALPHAS[best]


def theta_forecast(panel: Panel, horizon: int, season: int, positive: bool) -> torch.Tensor:
    """(S, H) Theta point forecasts of every series in the panel (module doc).

    (The original two-line form, the mean of the extrapolated OLS line and the SES forecast
    of the theta = 2 line 2 x_t - (c + b t), scored within 0.15 sMAPE of this one on every
    validation set of bench_forecast_m.py, so only this one is kept.)
    """
    S, T = panel.values.shape
    y, factors = seasonally_adjusted(panel, horizon, season, positive)
    m = panel.mask.double()
    n = panel.lengths.double()
    # the OLS line c + b t of the adjusted series over its observed columns
    t = torch.arange(T, dtype=torch.float64)[None, :]
    tm = (t * m).sum(1) / n.clamp(min=1)
    ym = (y * m).sum(1) / n.clamp(min=1)
    stt = (((t - tm[:, None]) ** 2) * m).sum(1)
    slope = torch.where(stt > 0, (((t - tm[:, None]) * (y - ym[:, None])) * m).sum(1) / stt.clamp(min=1e-300),
                        torch.zeros_like(stt))
    h = torch.arange(horizon, dtype=torch.float64)[None, :]  # (1, H): h - 1
    level, al = _ses(y, m)
    drift = slope[:, None] / 2 * (h + (1 - (1 - al[:, None]) ** n[:, None]) / al[:, None])
    return ((level[:, None] + drift) * factors).float()  # (S, H)

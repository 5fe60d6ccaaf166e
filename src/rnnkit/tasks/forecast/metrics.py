"""Forecast accuracy metrics over the H test points.

With actuals y, forecasts f, training history x_1..x_N and season m:

    MAE   = mean |y - f|                      RMSE  = sqrt(mean (y - f)^2)
    MAPE  = 100 mean |y - f| / |y|            (over points with y != 0; None if there are none)
    sMAPE = 100 mean 2 |y - f| / (|y| + |f|)  (a 0/0 term counts as 0)
    MASE  = MAE / mean_{t>m} |x_t - x_{t-m}|  (scaled by the in-sample seasonal-naive MAE)
    coverage = fraction of y inside [lower, upper]  (None when there is no interval)
"""

from __future__ import annotations

import numpy as np

__all__ = ["METRICS", "forecast_metrics", "mase_scale"]

METRICS = ("mae", "rmse", "mape", "smape", "mase", "coverage")


def mase_scale(history: np.ndarray, season: int) -> float:
    """In-sample MAE of seasonal naive (naive when the history is shorter than a season)."""
    x = np.asarray(history, float)
    m = season if len(x) > season else 1
    scale = float(np.mean(np.abs(x[m:] - x[:-m]))) if len(x) > m else float("nan")
    return scale if scale > 0 else float("nan")


def forecast_metrics(
    actual: np.ndarray,
    forecast: np.ndarray,
    history: np.ndarray,
    season: int,
    lower: np.ndarray | None = None,
    upper: np.ndarray | None = None,
) -> dict[str, float | None]:
    """The six metrics as plain floats (None where undefined)."""
    y, f = np.asarray(actual, float).ravel(), np.asarray(forecast, float).ravel()
    err = np.abs(y - f)
    nonzero = y != 0
    denom = np.abs(y) + np.abs(f)
    smape_terms = np.where(denom > 0, 2 * err / np.where(denom > 0, denom, 1), 0.0)
    scale = mase_scale(history, season)
    out: dict[str, float | None] = {
        "mae": float(err.mean()),
        "rmse": float(np.sqrt(np.mean(err**2))),
        "mape": float(100 * np.mean(err[nonzero] / np.abs(y[nonzero]))) if nonzero.any() else None,
        "smape": float(100 * smape_terms.mean()),
        "mase": float(err.mean() / scale) if np.isfinite(scale) else None,
        "coverage": None,
    }
    if lower is not None and upper is not None:
        lo, hi = np.asarray(lower, float).ravel(), np.asarray(upper, float).ravel()
        out["coverage"] = float(np.mean((y >= lo) & (y <= hi)))
    return out

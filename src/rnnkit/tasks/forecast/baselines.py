"""Classical baselines on the same split as the model: naive, seasonal naive, drift, ETS.

For a history y_1..y_N, season m and steps h = 1..H:

    naive           yhat_{N+h} = y_N
    seasonal_naive  yhat_{N+h} = y_{N - m + ((h - 1) mod m) + 1}
    drift           yhat_{N+h} = y_N + h (y_N - y_1) / (N - 1)
    ets             Holt-Winters exponential smoothing (statsmodels): additive trend,
                    multiplicative season when every y > 0 (else additive), no season
                    when m = 1 or the history is shorter than two seasons.

statsmodels is optional (``pip install rnnkit[stats]``): without it ``ets`` is skipped.
"""

from __future__ import annotations

import importlib.util
import warnings
from collections.abc import Callable

import numpy as np

__all__ = [
    "BASELINES",
    "available_baselines",
    "drift",
    "ets",
    "naive",
    "run_baselines",
    "seasonal_naive",
]


def naive(history: np.ndarray, horizon: int, season: int = 1) -> np.ndarray:
    return np.full(horizon, float(history[-1]))


def seasonal_naive(history: np.ndarray, horizon: int, season: int = 1) -> np.ndarray:
    m = min(season, len(history))
    return np.array([history[len(history) - m + (h % m)] for h in range(horizon)], dtype=float)


def drift(history: np.ndarray, horizon: int, season: int = 1) -> np.ndarray:
    n = len(history)
    slope = (history[-1] - history[0]) / (n - 1) if n > 1 else 0.0
    return history[-1] + slope * np.arange(1, horizon + 1)


def ets(history: np.ndarray, horizon: int, season: int = 1) -> np.ndarray:
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    seasonal = None
    if season > 1 and len(history) >= 2 * season:
        seasonal = "mul" if np.all(history > 0) else "add"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence chatter from the optimiser
        fit = ExponentialSmoothing(
            np.asarray(history, float),
            trend="add",
            seasonal=seasonal,
            seasonal_periods=season if seasonal else None,
        ).fit()
        return np.asarray(fit.forecast(horizon), dtype=float)


BASELINES: dict[str, Callable[[np.ndarray, int, int], np.ndarray]] = {
    "naive": naive,
    "seasonal_naive": seasonal_naive,
    "drift": drift,
    "ets": ets,
}


def available_baselines() -> list[str]:
    """Baseline names usable here (``ets`` needs statsmodels)."""
    has_sm = importlib.util.find_spec("statsmodels") is not None
    return [name for name in BASELINES if name != "ets" or has_sm]


def run_baselines(
    history: np.ndarray, horizon: int, season: int, names=None
) -> dict[str, np.ndarray]:
    """{name: forecast (H,)} for each available baseline (or those in ``names``)."""
    names = (
        available_baselines() if names is None else [n for n in names if n in available_baselines()]
    )
    return {name: BASELINES[name](np.asarray(history, float), horizon, season) for name in names}

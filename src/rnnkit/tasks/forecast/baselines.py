"""Baselines on the same split as the model: naive, seasonal naive, drift, and statsforecast's
AutoETS (``ets``), AutoTheta (``theta``) and AutoARIMA (``arima``).

For a history y_1..y_N, season m and steps h = 1..H:

    naive           yhat_{N+h} = y_N
    seasonal_naive  yhat_{N+h} = y_{N - m + ((h - 1) mod m) + 1}
    drift           yhat_{N+h} = y_N + h (y_N - y_1) / (N - 1)

These three are definitions (equal to statsforecast's Naive, SeasonalNaive and
RandomWalkWithDrift, which tests/tasks/forecast/test_baselines.py checks) and need
nothing installed. ``ets``, ``theta`` and ``arima`` are statsforecast's automatic models
(``rnnkit.tasks.forecast.stats_baselines``); without statsforecast they are left out and
``baseline_forecasts`` says which, so the comparison table can name them in one line.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from rnnkit.tasks.forecast.stats_baselines import STATS_MODELS, stats_available, stats_forecasts

__all__ = ["BASELINES", "SIMPLE", "baseline_forecasts", "drift", "missing_line", "naive", "seasonal_naive"]


def naive(history: np.ndarray, horizon: int, season: int = 1) -> np.ndarray:
    return np.full(horizon, float(history[-1]))


def seasonal_naive(history: np.ndarray, horizon: int, season: int = 1) -> np.ndarray:
    m = min(season, len(history))
    return np.array([history[len(history) - m + (h % m)] for h in range(horizon)], dtype=float)


def drift(history: np.ndarray, horizon: int, season: int = 1) -> np.ndarray:
    n = len(history)
    slope = (history[-1] - history[0]) / (n - 1) if n > 1 else 0.0
    return history[-1] + slope * np.arange(1, horizon + 1)


SIMPLE: dict[str, Callable[[np.ndarray, int, int], np.ndarray]] = {
    "naive": naive,
    "seasonal_naive": seasonal_naive,
    "drift": drift,
}
#: every baseline name, in the order the comparison table shows them
BASELINES = (*SIMPLE, *STATS_MODELS)


def baseline_forecasts(histories: dict, horizon: int, season: int, names) -> tuple[dict, list[str]]:
    """({name: {key: forecast (H,)}}, names left out because statsforecast is missing)."""
    names = list(names)
    out = {n: {k: SIMPLE[n](np.asarray(h, float), horizon, season) for k, h in histories.items()}
           for n in names if n in SIMPLE}
    wanted = [n for n in names if n in STATS_MODELS]
    if wanted and not stats_available():
        return out, wanted
    out.update(stats_forecasts(histories, horizon, season, wanted))
    return {n: out[n] for n in names if n in out}, []


def missing_line(missing: list[str]) -> str:
    """The one line the comparison table prints when statsforecast is not installed."""
    models = ", ".join(f"{n} ({STATS_MODELS[n]})" for n in missing)
    return f"not computed: {models}; statsforecast is not installed (pip install 'rnnkit[stats]')"

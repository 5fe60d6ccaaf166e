"""statsforecast's automatic models as baselines: AutoETS, AutoTheta, AutoARIMA.

statsforecast is optional (``pip install 'rnnkit[stats]'``). ``stats_forecasts`` fits
each named model to every history at once (one ``StatsForecast.forecast`` call over a
long frame, integer time steps) and returns the point forecasts. A model that cannot be
fitted to a series (too short for it) falls back to statsforecast's ``Naive`` for that
series, as ``StatsForecast(fallback_model=...)`` does.
"""

from __future__ import annotations

import importlib
import warnings

import numpy as np
import pandas as pd

__all__ = ["STATS_MODELS", "stats_available", "stats_forecasts"]

#: baseline name -> statsforecast model class (and its forecast column)
STATS_MODELS = {"ets": "AutoETS", "theta": "AutoTheta", "arima": "AutoARIMA"}


def _import():
    """(StatsForecast, statsforecast.models) or None when statsforecast is not installed."""
    try:
        core = importlib.import_module("statsforecast")
        models = importlib.import_module("statsforecast.models")
    except ImportError:
        return None
    return core.StatsForecast, models


def stats_available() -> bool:
    return _import() is not None


def stats_forecasts(histories: dict, horizon: int, season: int, names) -> dict[str, dict]:
    """{name: {key: forecast (H,)}} for each name in ``names`` (keys of STATS_MODELS).

    ``histories`` maps any key to a 1-D array of observations (oldest first).
    """
    names = [n for n in names if n in STATS_MODELS]
    if not names or not histories:
        return {}
    found = _import()
    if found is None:
        raise ImportError("statsforecast is not installed")
    StatsForecast, models = found
    m = max(1, int(season))
    make = {"ets": lambda: models.AutoETS(season_length=m), "theta": lambda: models.AutoTheta(season_length=m),
            "arima": lambda: models.AutoARIMA(season_length=m)}
    keys = list(histories)
    codes = [f"k{i}" for i in range(len(keys))]
    frame = pd.concat([
        pd.DataFrame({"unique_id": c, "ds": np.arange(len(h)), "y": np.asarray(h, float)})
        for c, h in zip(codes, histories.values())
    ], ignore_index=True)
    sf = StatsForecast(models=[make[n]() for n in names], freq=1, n_jobs=1, fallback_model=models.Naive())
    with warnings.catch_warnings():  # short-history and convergence chatter from the fits
        warnings.simplefilter("ignore")
        fc = sf.forecast(df=frame, h=horizon)
    out: dict[str, dict] = {}
    grouped = dict(tuple(fc.groupby("unique_id", sort=False)))
    for n in names:
        col = STATS_MODELS[n]
        out[n] = {k: grouped[c][col].to_numpy(float) for k, c in zip(keys, codes)}
    return out

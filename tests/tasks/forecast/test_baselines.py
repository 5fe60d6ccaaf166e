"""Baselines by hand on tiny series; ETS only when statsmodels is installed."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from rnnkit.tasks.forecast.baselines import (
    available_baselines,
    drift,
    naive,
    run_baselines,
    seasonal_naive,
)

HIST = np.array([1.0, 2.0, 3.0, 10.0, 11.0, 12.0, 4.0])


def test_naive_seasonal_naive_drift_by_hand():
    assert naive(HIST, 3).tolist() == [4.0, 4.0, 4.0]
    assert seasonal_naive(HIST, 5, season=3).tolist() == [11.0, 12.0, 4.0, 11.0, 12.0]
    assert seasonal_naive(HIST, 2, season=1).tolist() == [4.0, 4.0]
    assert drift(HIST, 2).tolist() == [4.5, 5.0]  # slope (4 - 1) / 6


def test_run_baselines_names():
    out = run_baselines(HIST, 2, 3, names=["naive", "drift"])
    assert list(out) == ["naive", "drift"]


@pytest.mark.skipif(
    importlib.util.find_spec("statsmodels") is None, reason="statsmodels not installed"
)
def test_ets_follows_a_trend_and_a_season():
    t = np.arange(48)
    y = 100 + 2 * t + 10 * np.sin(2 * np.pi * t / 12)
    assert "ets" in available_baselines()
    f = run_baselines(y[:36], 12, 12, names=["ets"])["ets"]
    snaive_error = np.mean(np.abs(seasonal_naive(y[:36], 12, 12) - y[36:]))  # 24: the missed trend
    assert np.mean(np.abs(f - y[36:])) < snaive_error / 3

"""Baselines: naive / seasonal naive / drift by hand and equal to statsforecast's; AutoETS, AutoTheta
through statsforecast; without statsforecast, the names of what is missing in one line."""

from __future__ import annotations

import builtins
import importlib.util

import numpy as np
import pytest

from rnnkit.tasks.forecast import stats_baselines
from rnnkit.tasks.forecast.baselines import baseline_forecasts, drift, missing_line, naive, seasonal_naive

HIST = np.array([1.0, 2.0, 3.0, 10.0, 11.0, 12.0, 4.0])
HAS_SF = importlib.util.find_spec("statsforecast") is not None


def test_naive_seasonal_naive_drift_by_hand():
    assert naive(HIST, 3).tolist() == [4.0, 4.0, 4.0]
    assert seasonal_naive(HIST, 5, season=3).tolist() == [11.0, 12.0, 4.0, 11.0, 12.0]
    assert seasonal_naive(HIST, 2, season=1).tolist() == [4.0, 4.0]
    assert drift(HIST, 2).tolist() == [4.5, 5.0]  # slope (4 - 1) / 6


@pytest.mark.skipif(not HAS_SF, reason="statsforecast not installed")
def test_the_simple_baselines_equal_statsforecasts():
    import pandas as pd
    from statsforecast import StatsForecast
    from statsforecast.models import Naive, RandomWalkWithDrift, SeasonalNaive

    y = np.random.default_rng(0).normal(size=40).cumsum() + 50
    sf = StatsForecast(models=[Naive(), SeasonalNaive(season_length=12), RandomWalkWithDrift()], freq=1)
    fc = sf.forecast(df=pd.DataFrame({"unique_id": "a", "ds": np.arange(40), "y": y}), h=7)
    np.testing.assert_allclose(naive(y, 7), fc["Naive"], rtol=1e-12)
    np.testing.assert_allclose(seasonal_naive(y, 7, 12), fc["SeasonalNaive"], rtol=1e-12)
    np.testing.assert_allclose(drift(y, 7), fc["RWD"], rtol=1e-9)


@pytest.mark.skipif(not HAS_SF, reason="statsforecast not installed")
def test_ets_and_theta_follow_a_trend_and_a_season():
    t = np.arange(48)
    y = 100 + 2 * t + 10 * np.sin(2 * np.pi * t / 12)
    out, missing = baseline_forecasts({"a": y[:36], "b": y[:30]}, 12, 12, ["naive", "ets", "theta"])
    assert missing == [] and list(out) == ["naive", "ets", "theta"] and set(out["ets"]) == {"a", "b"}
    snaive_error = np.mean(np.abs(seasonal_naive(y[:36], 12, 12) - y[36:]))  # 24: the missed trend
    for name in ("ets", "theta"):
        assert np.mean(np.abs(out[name]["a"] - y[36:])) < snaive_error / 3, name


def test_without_statsforecast_the_table_names_what_is_missing(monkeypatch):
    real_import = builtins.__import__

    def no_statsforecast(name, *args, **kwargs):
        if name.split(".")[0] == "statsforecast":
            raise ImportError("No module named 'statsforecast'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_statsforecast)
    monkeypatch.setattr(stats_baselines.importlib, "import_module",
                        lambda name: no_statsforecast(name))
    assert not stats_baselines.stats_available()
    out, missing = baseline_forecasts({"a": HIST}, 2, 3, ["naive", "ets", "theta"])
    assert list(out) == ["naive"] and missing == ["ets", "theta"]
    assert missing_line(missing) == ("not computed: ets (AutoETS), theta (AutoTheta); statsforecast is not "
                                     "installed (pip install 'rnnkit[stats]')")


def test_without_statsforecast_the_cli_prints_the_missing_line(monkeypatch, tmp_path):
    from typer.testing import CliRunner

    from rnnkit.cli.app import app

    monkeypatch.setattr(stats_baselines, "_import", lambda: None)
    result = CliRunner().invoke(app, ["forecast", "train", "--out", str(tmp_path), "--max-steps", "2",
                                      "--members", "1", "--set", "model.hidden_size=4"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines[2:6]] == ["model", "naive", "seasonal_naive", "drift"]
    assert lines[6] == ("not computed: ets (AutoETS), theta (AutoTheta); statsforecast is not installed "
                        "(pip install 'rnnkit[stats]')")

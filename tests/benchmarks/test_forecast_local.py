"""bench_forecast_local: the draw of series and the fit of each series alone."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.benchmarks.helpers import load_benchmark

TINY = {"hidden": 4, "min_steps": 5, "max_steps": 5, "batch_size": 8, "lookbacks": [2.0], "theta": 0.0, "damped": 0.0}


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("bench_forecast_local")


def panel(lengths: dict[str, int]) -> tuple[pd.DataFrame, dict]:
    rng = np.random.default_rng(0)
    df = pd.concat([pd.DataFrame({"unique_id": k, "ds": np.arange(1, n + 1), "y": 10 + rng.normal(0, 1, n).cumsum()})
                    for k, n in lengths.items()], ignore_index=True)
    return df, {k: np.full(3, 10.0) for k in lengths}


def test_the_draw_depends_on_its_seed_only_and_keeps_whole_series(bench):
    df, test = panel({f"s{i}": 20 + i for i in range(10)})
    a, ta = bench.draw(df, test, 4, seed=0)
    b, tb = bench.draw(df, test, 4, seed=0)
    assert a.equals(b) and list(ta) == list(tb) and len(ta) == 4
    assert list(a["unique_id"].unique()) == list(ta)  # the frame and the test values agree, in the set's order
    assert all((a["unique_id"] == k).sum() == 20 + int(k[1:]) for k in ta)  # every point of a drawn series
    assert list(bench.draw(df, test, 4, seed=1)[1]) != list(ta)
    assert len(bench.draw(df, test, 50, seed=0)[1]) == 10  # a set smaller than the draw: all of it


def test_each_series_is_fitted_alone_and_one_too_short_falls_back_to_its_last_value(bench):
    df, _ = panel({"a": 30, "b": 3})  # b: 3 points, horizon 3: the Forecaster refuses a panel of b alone
    out, _, _ = bench.run_local(df, 1, 3, 0, TINY)
    assert list(out["unique_id"].unique()) == ["a", "b"]
    b = out[out["unique_id"] == "b"]
    last = df[df["unique_id"] == "b"]["y"].iloc[-1]
    assert (b[["forecast", "lo-80", "hi-80"]] == last).all().all() and b["ds"].tolist() == [4, 5, 6]
    from rnnkit.tasks.forecast.estimator import Forecaster

    alone = Forecaster(3, season=1, seed=0, **TINY).fit(df[df["unique_id"] == "a"]).predict(level=(80,))
    assert np.allclose(out[out["unique_id"] == "a"]["forecast"], alone["forecast"])

"""bench_forecast_m's whole-competition rows ("m1 (all)"): every series counts once, as the
competitions report their overall figures, not the mean of the subsets' means."""
from __future__ import annotations

import pytest

from tests.benchmarks.helpers import load_benchmark


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("bench_forecast_m")


def _series(smape, mase, cov=1.0):
    return {"smape": smape, "mase": mase, "mape": smape, "coverage": cov}


def test_whole_competition_weights_series_not_subsets(bench):
    times = {"sec": 1.0, "cpu": 2.0}
    # M1: yearly 1 series, quarterly 3 series (one without a MASE), monthly 1; two seeds each
    per_set = {
        ("m1-yearly", "rnnkit"): [([_series(10, 4.0)], times), ([_series(20, 6.0)], times)],
        ("m1-quarterly", "rnnkit"): [([_series(1, 1.0), _series(1, None), _series(1, 1.0, 0.0)], times)] * 2,
        ("m1-monthly", "rnnkit"): [([_series(3, 2.0)], times)] * 2,
        ("m3-yearly", "rnnkit"): [([_series(5, 5.0)], times)] * 2,  # M3 incomplete: no "m3 (all)" row
    }
    names = ["m1-yearly", "m1-quarterly", "m1-monthly", "m3-yearly"]
    rows = bench.whole_competitions(names, ["rnnkit"], per_set)
    assert [r["set"] for r in rows] == ["m1 (all)"]
    r = rows[0]
    assert r["n"] == 5 and r["seeds"] == 2
    # seed 0: sMAPE (10 + 1 + 1 + 1 + 3) / 5 = 3.2, MASE over the 4 defined (4 + 1 + 1 + 2) / 4 = 2;
    # seed 1: sMAPE 5.2, MASE 2.5; the row gives their mean and population standard deviation
    assert r["smape"] == pytest.approx((4.2, 1.0))
    assert r["mase"] == pytest.approx((2.25, 0.25))
    assert r["cov80"] == pytest.approx((0.8, 0.0))
    assert r["sec"] == pytest.approx((3.0, 0.0)) and r["cpu"] == pytest.approx((6.0, 0.0))  # summed over subsets
    # the mean of the subsets' means would differ (seed 0 sMAPE (10 + 1 + 3) / 3 = 4.67)
    assert r["smape"][0] != pytest.approx(14 / 3)


def test_msis_is_the_m4_interval_score_over_the_mase_scale(bench):
    history = [1.0, 3.0, 2.0, 4.0]  # naive scale (season 1): mean |diff| = (2 + 1 + 2) / 3 = 5 / 3
    y, lo, hi = [5.0, 0.0, 10.0], [4.0, 1.0, 6.0], [6.0, 3.0, 7.0]
    # widths 2, 2, 1; misses: none, 10 * (1 - 0) below, 10 * (10 - 7) above
    assert bench.msis(y, lo, hi, history, 1) == pytest.approx((2 + 12 + 31) / 3 / (5 / 3))
    assert bench.msis(y, lo, hi, [2.0, 2.0, 2.0], 1) is None  # no scale on a constant history
    rows = bench.averages([{"smape": 1.0, "mase": 1.0, "mape": 1.0, "coverage": 1.0, "msis80": 2.0},
                           {"smape": 1.0, "mase": 1.0, "mape": 1.0, "coverage": 0.0, "msis80": None}])
    assert rows["msis80"] == 2.0 and rows["cov80"] == 0.5


def test_paired_bootstrap_pairs_series_by_id_and_brackets_the_mean(bench):
    times = {"sec": 1.0, "cpu": 1.0}
    ours = [{"unique_id": k, "smape": s, "mase": m} for k, s, m in (("a", 10, 1.0), ("b", 20, 2.0), ("c", 30, None))]
    # the contender's series in another order; rnnkit's two seeds average to the figures above
    theirs = [{"unique_id": k, "smape": s, "mase": m} for k, s, m in (("c", 31, 4.0), ("a", 12, 1.5), ("b", 20, 1.0))]
    seed1 = [dict(p, smape=p["smape"] + 2) for p in ours]
    seed0 = [dict(p, smape=p["smape"] - 2) for p in ours]
    per_set = {("m3-other", "rnnkit"): [(seed0, times), (seed1, times)], ("m3-other", "AutoETS"): [(theirs, times)]}
    (row,) = bench.paired(["m3-other"], ["rnnkit", "AutoETS"], per_set, resamples=2000)
    assert (row["set"], row["contender"], row["n"]) == ("m3-other", "AutoETS", 3)
    # sMAPE differences -2, 0, -1: mean -1; MASE -0.5 and +1.0 where both are defined (c has none for rnnkit)
    assert row["smape"][0] == pytest.approx(-1.0) and row["mase"][0] == pytest.approx(0.25)
    assert row["smape"][1] <= -1.0 <= row["smape"][2] and -2.0 <= row["smape"][1] and row["smape"][2] <= 0.0
    assert row["mase"][1] == pytest.approx(-0.5) and row["mase"][2] == pytest.approx(1.0)  # 2 series: the extremes
    assert row["lower"] == pytest.approx(0.5)

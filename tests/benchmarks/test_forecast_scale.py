"""bench_forecast_scale's table: medians per scale and the ratio of the medians, beside each
round's own ratio (the scales run in turn, so a round is one run of each)."""
from __future__ import annotations

import pytest

from tests.benchmarks.helpers import load_benchmark


def _run(scale, cpu, rss):
    return {"scale": scale, "series": 1428 * scale, "points": 141858 * scale, "steps": 908 * scale, "members": 2,
            "wall_s": cpu + 0.1, "cpu_s": cpu, "peak_rss_mb": rss}


def test_medians_per_scale_and_each_rounds_ratio():
    bench = load_benchmark("bench_forecast_scale")
    runs = [_run(1, 18.0, 520.0), _run(10, 182.3, 1403.0),   # round 1: 10.13x
            _run(1, 20.0, 519.0), _run(10, 190.0, 1400.0),   # round 2: 9.50x
            _run(1, 19.0, 521.0), _run(10, 171.0, 1410.0)]   # round 3: 9.00x
    out = bench.table(runs, [1, 10]).splitlines()
    assert out[2] == "| M3 monthly x1 | 1428 | 141858 | 908 x 2 | 3 | 19.1 | 19.0 | 520.0 |"
    assert out[3] == "| M3 monthly x10 | 14280 | 1418580 | 9080 x 2 | 3 | 182.4 | 182.3 | 1403.0 |"
    assert out[4].startswith(f"x10 / x1 (medians): wall {182.4 / 19.1:.2f}x, CPU {182.3 / 19.0:.2f}x, "
                             f"peak memory {1403.0 / 520.0:.2f}x (data 10.0x)")
    assert out[4].endswith("CPU ratio of each round: 10.13x, 9.50x, 9.00x")


def test_one_scale_has_no_ratio():
    bench = load_benchmark("bench_forecast_scale")
    out = bench.table([_run(1, 18.0, 520.0)], [1])
    assert len(out.splitlines()) == 3 and "x10" not in out


@pytest.mark.parametrize("argv", [["--repeats", "0"], ["--scales", "1", "--repeats", "-1"]])
def test_repeats_must_be_positive(argv, capsys):
    bench = load_benchmark("bench_forecast_scale")
    with pytest.raises(SystemExit):
        bench.main(argv)
    assert "--repeats" in capsys.readouterr().err

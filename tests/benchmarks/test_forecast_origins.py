"""bench_forecast: too many rolling origins for a series is one line, not a traceback from fit."""
from __future__ import annotations

import pytest

from tests.benchmarks.helpers import load_benchmark


def test_too_many_origins_say_how_many_fit():
    bench = load_benchmark("bench_forecast")
    with pytest.raises(SystemExit) as err:  # airline: 144 points, H 12; 12 origins leave nothing to fit
        bench.evaluate("airline", [0], 12)
    assert str(err.value) == ("airline: --origins 12 leaves 0 points of history at the first origin (144 points, H 12); "
                              "at most 10 origins")

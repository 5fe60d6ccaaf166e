"""The issue's targets with the default settings (slow: about 1-2 min of CPU in all).

Run with: python3 dev.py test -m slow  (benchmarks/bench_forecast.py does 3 seeds).
"""

from __future__ import annotations

import pytest

from rnnkit.tasks.forecast.pipeline import train_forecaster
from rnnkit.tasks.forecast.config import load_forecast_config

ETS_ISSUE = {"airline": 0.800, "sunspots": 2.898, "elec_equip": 0.158, "co2": 0.323}


@pytest.mark.slow
def test_default_beats_seasonal_naive_everywhere_and_ets_on_average(tmp_path):
    mase = {}
    for name in ETS_ISSUE:
        cfg = load_forecast_config(
            overrides=[f'data.data="{name}"', 'baselines=["seasonal_naive"]']
        )
        m = train_forecaster(cfg, tmp_path / name, log=lambda s: None)
        assert m["model"]["mase"] < m["baselines"]["seasonal_naive"]["mase"], name
        if name == "airline":
            assert m["model"]["mape"] <= 4.0
        mase[name] = m["model"]["mase"]
    assert sum(mase.values()) / 4 <= sum(ETS_ISSUE.values()) / 4

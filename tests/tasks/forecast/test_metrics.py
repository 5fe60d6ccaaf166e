"""The six forecast metrics against hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest

from rnnkit.tasks.forecast.metrics import forecast_metrics, mase_scale


def test_metrics_by_hand():
    actual = np.array([10.0, 20.0])
    forecast = np.array([12.0, 16.0])
    history = np.array([1.0, 2.0, 4.0, 7.0])  # season 2: |4-1|, |7-2| -> scale 4
    m = forecast_metrics(actual, forecast, history, 2, lower=[9, 21], upper=[11, 25])
    assert m["mae"] == pytest.approx(3.0)
    assert m["rmse"] == pytest.approx(np.sqrt((4 + 16) / 2))
    assert m["mape"] == pytest.approx(100 * (0.2 + 0.2) / 2)
    assert m["smape"] == pytest.approx(100 * (4 / 22 + 8 / 36) / 2)
    assert m["mase"] == pytest.approx(3.0 / 4.0)
    assert m["coverage"] == 0.5


def test_zero_actuals_and_flat_history():
    m = forecast_metrics([0.0, 0.0], [0.0, 1.0], [5.0, 5.0, 5.0], 1)
    assert m["mape"] is None and m["smape"] == pytest.approx(100.0)  # (0 + 2) / 2
    assert m["mase"] is None and m["coverage"] is None
    assert np.isnan(mase_scale([5.0, 5.0], 1))

"""bench_forecast_partners' ETS(A,N,A) component (twenty-fourth session): its forecasts of a collected
window, cached, and the four-component rule built on them."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.benchmarks.helpers import load_benchmark

pytest.importorskip("statsforecast")


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("bench_forecast_partners")


def _window(path, h=4, m=4, n=3):
    """A collected window as --collect writes it: n seasonal series (the third too short for a season)."""
    t = np.arange(40)
    hist = [50 + 10 * np.sin(2 * np.pi * t / m) + i for i in range(n - 1)] + [np.array([5.0, 6.0, 5.5])]
    np.savez(path, ids=np.array([f"s{i}" for i in range(n)]), rnn=np.full((n, h), 50.0), actual=np.full((n, h), 50.0),
             hist=np.array(hist, dtype=object), season=m)
    return path


def test_ets_ana_forecasts_each_series_and_caches_them(tmp_path, bench):
    path = _window(tmp_path / "set_inner_0.npz")
    fc = bench.ets_ana(path)
    assert fc.shape == (3, 4) and torch.isfinite(fc).all()
    # the seasonal series' forecast follows its season (a dip at phase 3), not a flat line
    assert fc[0, 3] < fc[0, 1] - 10
    cache = tmp_path / "ana_set_inner.npy"
    assert cache.exists()
    np.save(cache, np.zeros((3, 4)))  # read from the cache, not refitted
    assert bench.ets_ana(path).abs().sum() == 0


def test_ana4_weighs_four_components_from_the_prior(tmp_path, bench):
    inner, val = _window(tmp_path / "set_inner_0.npz"), _window(tmp_path / "set_val_0.npz")
    F = torch.stack([torch.full((3, 4), 50.0), torch.full((3, 4), 40.0), torch.full((3, 4), 60.0)])
    y = torch.full((3, 4), 50.0)
    out, note = bench.ana4(F, y, torch.ones(3), F, {"paths": (inner, val)})
    w = [float(v) for v in note[2:].split("/")]
    assert out.shape == (3, 4) and len(w) == 4 and abs(sum(w) - 1) < 1e-9
    assert w[0] >= 0.6 / 2  # halfway to the prior (0.6, 0.2, 0.2, 0): the RNN, exact here, keeps at least its half

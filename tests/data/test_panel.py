"""rnnkit.data.panel: right-aligned masked panels, window sampling, scaling, seasonal indices."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from rnnkit.data.panel import (
    unit_scales,
    deseasonalise, draw_windows, future_factors, last_windows, long_to_panel, sample_windows, scale_windows,
    seasonal_indices, window_series,
)


def frame():
    return pd.DataFrame({
        "unique_id": ["a"] * 6 + ["b"] * 3,
        "ds": list(range(6)) + list(range(3)),
        "y": [1.0, 2, 3, 4, 5, 6, 10, 20, 30],
    })


def test_panel_is_right_aligned_and_masked():
    p = long_to_panel(frame(), "unique_id", "y")
    assert p.ids == ["a", "b"] and p.lengths.tolist() == [6, 3]
    assert p.values.tolist() == [[1, 2, 3, 4, 5, 6], [0, 0, 0, 10, 20, 30]]
    assert p.mask.tolist() == [[True] * 6, [False] * 3 + [True] * 3]


def test_last_windows_pad_and_mask_before_the_first_point():
    x, m = last_windows(long_to_panel(frame(), "unique_id", "y"), 4)
    assert x.tolist() == [[3, 4, 5, 6], [0, 10, 20, 30]]
    assert m.tolist() == [[True] * 4, [False, True, True, True]]
    x, m = last_windows(long_to_panel(frame(), "unique_id", "y"), 8)  # longer than every series
    assert x[0].tolist() == [0, 0, 1, 2, 3, 4, 5, 6] and m[0].sum() == 6


def test_sampled_windows_are_contiguous_pieces_of_one_series():
    p = long_to_panel(frame(), "unique_id", "y")
    x, m, y = sample_windows(p, 200, lookback=3, horizon=2, history=None, generator=torch.Generator().manual_seed(0))
    seen = set()
    for xi, mi, yi in zip(x.tolist(), m.tolist(), y.tolist()):
        series = [1, 2, 3, 4, 5, 6] if yi[0] < 10 else [10, 20, 30]
        end = series.index(yi[-1]) + 1
        assert yi == series[end - 2:end]
        ctx = series[max(0, end - 5):end - 2]
        assert [v for v, k in zip(xi, mi) if k] == ctx and sum(mi) == len(ctx)
        seen.add((yi[-1]))
    assert seen == {3, 4, 5, 6, 30}  # every cut with at least one input point, from both series
    x, m, y = sample_windows(p, 100, 3, 2, history=1, generator=torch.Generator().manual_seed(0))
    assert set(y[:, -1].tolist()) == {6, 30}  # history=1: the last target window only


def test_eligible_series_computed_once_give_the_same_draws():
    p = long_to_panel(pd.concat([frame(), pd.DataFrame({"unique_id": "c", "ds": [0, 1], "y": [7.0, 8.0]})]),
                      "unique_id", "y")
    assert window_series(p, 2).tolist() == [0, 1]  # "c" has 2 points: no window for H = 2
    a = sample_windows(p, 50, 3, 2, None, torch.Generator().manual_seed(3))
    b = sample_windows(p, 50, 3, 2, None, torch.Generator().manual_seed(3), eligible=window_series(p, 2))
    assert all(torch.equal(u, v) for u, v in zip(a, b))
    rows, first = draw_windows(p, 200, 2, None, torch.Generator().manual_seed(0), eligible=torch.tensor([1]))
    assert set(rows.tolist()) == {1}  # only the series it is given
    assert set(first.tolist()) == {4}  # "b" (3 points, T = 6) has one cut for H = 2: target columns 4-5


def test_scale_windows_log_and_linear():
    x = torch.tensor([[0.0, 2.0, 4.0]])
    m = torch.tensor([[False, True, True]])
    z, level, spread = scale_windows(x, m, 2, log=True)
    assert level.tolist() == [3.0] and torch.allclose(z, torch.tensor([[0.0, np.log(2 / 3), np.log(4 / 3)]], dtype=torch.float32))
    z, level, spread = scale_windows(x, m, 1, log=False)
    assert level.tolist() == [4.0] and spread.tolist() == [3.0] and torch.allclose(z, torch.tensor([[0, -2 / 3, 0]]))


def test_seasonal_indices_recover_a_multiplicative_pattern_and_its_future_phases():
    t = np.arange(50)
    pattern = np.array([0.2, -0.1, 0.0, -0.1])
    y = np.exp(1 + 0.01 * t + pattern[t % 4])
    df = pd.concat([pd.DataFrame({"unique_id": "a", "ds": t, "y": y}),
                    pd.DataFrame({"unique_id": "b", "ds": t[:31], "y": y[:31]}),
                    pd.DataFrame({"unique_id": "short", "ds": t[:5], "y": y[:5]})])
    p = long_to_panel(df, "unique_id", "y")
    s = seasonal_indices(p, 4)
    assert torch.allclose(s[0], torch.tensor(pattern, dtype=torch.float32), atol=1e-4)
    assert s[2].abs().max() == 0  # fewer than 3 seasons: no seasonal pattern
    f = future_factors(p, s, 4).log()  # (S, H)
    assert torch.allclose(f[0], torch.tensor(pattern[np.arange(50, 54) % 4], dtype=torch.float32), atol=1e-4)
    assert torch.allclose(f[1], torch.tensor(pattern[np.arange(31, 35) % 4], dtype=torch.float32), atol=1e-4)
    d = deseasonalise(p, s)
    assert torch.allclose(torch.log(d.values[0]), torch.tensor(1 + 0.01 * t, dtype=torch.float32), atol=1e-4)


def test_unit_scales_leave_ordinary_series_and_bring_extreme_ones_near_one_by_powers_of_two():
    long = pd.DataFrame({"unique_id": list("aabbccdd"), "y": [3.0, -7.5, 2e-9, 1e-9, 0.0, 0.0, -4e20, 1e19]})
    s = unit_scales(long)
    assert list(s.index) == ["a", "b", "c", "d"]
    assert s["a"] == 1.0 and s["c"] == 1.0  # in range; all zeros: nothing to scale
    for sid in ("b", "d"):
        k = np.log2(s[sid])
        assert k == np.round(k)  # a power of two: exact on floats
        top = long.loc[long.unique_id == sid, "y"].abs().max() * s[sid]
        assert 0.5 <= top <= 2.0

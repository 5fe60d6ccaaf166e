"""GlobalRNN's window normalisation (window_norm="naive"): the network by hand, the floor and cap,
the Forecaster's wiring, save/load, and models saved before the option existed."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

from rnnkit.data.panel import long_to_panel
from rnnkit.errors import ConfigError
from rnnkit.models.global_forecast import GlobalRNN
from rnnkit.tasks.forecast.estimator import Forecaster
from tests.tasks.forecast.partners import TINY
from tests.tasks.forecast.partners import volatility_panel as panel

Q = (0.1, 0.5, 0.9)


def _pair(ref: float):
    """A normalised network and a plain one with one static input and the same weights."""
    torch.manual_seed(0)
    normed = GlobalRNN(6, 3, Q, hidden=8, segment=2, norm_ref=ref)
    plain = GlobalRNN(6, 3, Q, hidden=8, segment=2, n_static=1)
    for p in normed.parameters():  # the skip starts at zero; make it count
        p.data.normal_(0, 0.3)
    state = {k: v for k, v in normed.state_dict().items() if k != "norm_ref"}
    plain.load_state_dict(state)
    return normed, plain


def test_normalised_forward_by_hand():
    ref = 0.5
    normed, plain = _pair(ref)
    z = torch.tensor([[0.0, 0.0, 1.0, 3.0, 6.0, 4.0],     # padded first point; scale (1 + 2 + 3 + 2) / 4 = 2
                      [0.1, 0.2, 0.1, 0.2, 0.1, 0.2],     # scale 0.1: inside [ref / 10, 10 ref]
                      [0.0, 0.0, 0.0, 0.0, 0.0, 1e-4],    # scale 2e-5: floored at ref / 10
                      [0.0, 0.0, 0.0, 0.0, 0.0, 0.0]])    # one observed point: no pair, counts ref
    m = torch.ones(4, 6, dtype=torch.bool)
    m[0, 0] = False
    m[3, :5] = False
    s = torch.tensor([2.0, 0.1, ref / 10, ref])
    want = plain(z / s[:, None], m, static=torch.log(s / ref)[:, None]) * s[:, None, None]
    torch.testing.assert_close(normed(z, m), want)


def test_cap_and_equivariance():
    ref = 0.5
    normed, plain = _pair(ref)
    m = torch.ones(2, 6, dtype=torch.bool)
    z = torch.tensor([[0.0, 40.0, 0.0, 40.0, 0.0, 40.0], [0.0, 400.0, 0.0, 400.0, 0.0, 400.0]])  # 40, 400: both capped
    # both scales are capped at 10 ref = 5: the GRU sees z / 5, and the output is 5 · f(z / 5, log 10)
    out = normed(z, m)
    s = torch.full((2,), 5.0)
    torch.testing.assert_close(out, plain(z / 5, m, static=torch.log(s / ref)[:, None]) * 5)
    # inside the band, the output is s · f(shape, log s): a window and the same window scaled have the
    # same GRU input, so with the log-scale input's weight zeroed their outputs differ by the scale alone
    with torch.no_grad():
        normed.head[0].weight[:, -1] = 0
    z2 = torch.tensor([[0.0, 0.1, 0.3, 0.2, 0.4, 0.5]])
    m2 = torch.ones(1, 6, dtype=torch.bool)
    torch.testing.assert_close(normed(3 * z2, m2), 3 * normed(z2, m2))


def test_forecaster_wiring_save_load(tmp_path):
    f = Forecaster(3, season=1, window_norm="naive", **TINY).fit(panel())
    assert all(m.normed for m in f.members_)
    ref = float(f.members_[0].norm_ref)
    want = f._loss_ref(long_to_panel(f.history_, "unique_id", "y"), f.members_[0].lookback, False)
    assert ref == pytest.approx(want, rel=1e-6)  # r: the median naive scale of the last windows
    f.save(tmp_path)
    g = Forecaster.load(tmp_path)
    assert float(g.members_[0].norm_ref) == ref and g.options.window_norm == "naive"
    pd.testing.assert_frame_equal(f.predict(), g.predict())
    # the plain Forecaster, same seed, forecasts differently (the option acts)
    plain = Forecaster(3, season=1, **TINY).fit(panel())
    assert not any(m.normed for m in plain.members_)
    assert not np.allclose(plain.predict()["forecast"], f.predict()["forecast"])


def test_model_saved_before_the_option_loads_unnormalised(tmp_path):
    f = Forecaster(3, season=1, **TINY).fit(panel())
    f.save(tmp_path)
    meta_path = tmp_path / "forecaster.json"
    meta = json.loads(meta_path.read_text())
    for mm in meta["members"]:
        del mm["normed"]
    del meta["options"]["window_norm"]
    meta_path.write_text(json.dumps(meta))
    g = Forecaster.load(tmp_path)
    assert not any(m.normed for m in g.members_)
    pd.testing.assert_frame_equal(f.predict(), g.predict())


def test_bad_value_is_one_line():
    with pytest.raises(ConfigError, match="window_norm must be None or 'naive', got 'std'"):
        Forecaster(3, window_norm="std")


@pytest.mark.parametrize("bad, why", [(0.0, "norm_ref must be a positive number"), (-1.0, "norm_ref must be a positive"),
                                      (float("nan"), "member0.norm_ref' holds NaN")])
def test_hostile_reference_scale_is_a_one_line_checkpoint_error(tmp_path, bad, why):
    from safetensors.torch import load_file, save_file

    from rnnkit.errors import CheckpointError

    Forecaster(3, season=1, window_norm="naive", **TINY).fit(panel()).save(tmp_path)
    tensors = load_file(tmp_path / "model.safetensors")
    tensors["member0.norm_ref"] = torch.tensor(bad)
    save_file(tensors, tmp_path / "model.safetensors")
    with pytest.raises(CheckpointError, match=why) as e:
        Forecaster.load(tmp_path)
    assert "\n" not in str(e.value)

"""The Forecaster's option loss_scale: wiring, off = the plain loss, save/load, old models."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
import torch

from rnnkit.data.panel import long_to_panel
from rnnkit.errors import ConfigError
from rnnkit.tasks.forecast import estimator as E
from rnnkit.tasks.forecast import training as T
from rnnkit.tasks.forecast.estimator import Forecaster
from tests.tasks.forecast.partners import TINY
from tests.tasks.forecast.partners import volatility_panel as panel


def test_reference_scale_by_hand():
    # log scale, season 1: level = the last point, so each window's scale is its mean |diff log x|
    rows = {"a": [1.0, 2.0, 4.0, 8.0, 16.0, 32.0], "b": [5.0, 5.0, 5.0, 5.5, 5.0, 5.0], "c": [3.0, 3.0, 6.0, 3.0],
            "d": [7.0, 7.0]}  # d: too short to train (H + 1 = 3 points needed), left out
    long = pd.concat([pd.DataFrame({"unique_id": k, "ds": range(len(v)), "y": v}) for k, v in rows.items()])
    f = Forecaster(2, season=1, lookbacks=(2.0,))
    f.log_ = True
    ref = f._loss_ref(long_to_panel(long, "unique_id", "y"), lookback=4, seasonal=True)
    last4 = {k: np.log(np.array(v[-4:])) for k, v in rows.items() if k != "d"}
    scales = sorted(np.abs(np.diff(x)).mean() for x in last4.values())
    assert ref == pytest.approx(scales[1], rel=1e-6)  # the median of three


def test_option_off_never_weights_the_loss(monkeypatch):
    def boom(*a, **k):
        raise AssertionError("loss_weights called with loss_scale=None")

    monkeypatch.setattr(T, "loss_weights", boom)
    monkeypatch.setattr(E, "panel_scale", boom)
    Forecaster(3, season=1, loss_scale=None, **TINY).fit(panel())


def test_the_default_is_the_plain_loss():
    """Better on validation, mixed on the test split and worse on elec_equip (eighth session)."""
    assert Forecaster(3).options.loss_scale is None


def test_option_on_weights_every_batch_and_changes_the_model(monkeypatch):
    seen = []
    real = T.pinball_loss

    def spy(q, y, tau, w=None):
        seen.append((q.shape[0], None if w is None else (w.shape, float(w.mean()), float(w.min()), float(w.max()))))
        return real(q, y, tau, w)

    monkeypatch.setattr(T, "pinball_loss", spy)
    df = panel()
    on = Forecaster(3, season=1, loss_scale="mase", **TINY).fit(df)
    assert len(seen) == on.steps_ == 30
    assert all(w[0] == (32,) and abs(w[1] - 1) < 1e-5 and w[3] > 1.5 * w[2] for _, w in seen)
    seen.clear()
    off = Forecaster(3, season=1, loss_scale=None, **TINY).fit(df)
    assert len(seen) == 30 and all(w is None for _, w in seen)
    a, b = on.predict(level=())["forecast"].to_numpy(), off.predict(level=())["forecast"].to_numpy()
    assert not np.allclose(a, b)


def test_flat_windows_get_the_larger_weights():
    df = panel()
    f = Forecaster(3, season=1, lookbacks=(2.0,))
    f.log_ = True
    p = long_to_panel(df, "unique_id", "y")
    ref = f._loss_ref(p, 6, True)
    x, m = E.last_windows(p, 6)
    z = E.scale_windows(x, m, 1, True)[0]
    w = T.loss_weights(z, m, 1, ref, 1.0, True)  # series ordered flat (s0) to wild (s5)
    assert torch.all(w[:-1] >= w[1:]) and w[0] > 5 * w[-1]


def test_save_load_keeps_it_and_older_models_load_with_it_off(tmp_path):
    f = Forecaster(3, season=1, loss_scale="mase", **TINY).fit(panel())
    f.save(tmp_path / "m")
    g = Forecaster.load(tmp_path / "m")
    assert g.options.loss_scale == "mase"
    pd.testing.assert_frame_equal(f.predict(), g.predict(), check_exact=True)
    meta = json.loads((tmp_path / "m" / "forecaster.json").read_text())
    del meta["options"]["loss_scale"]  # as written before the option existed: trained on the plain loss
    (tmp_path / "m" / "forecaster.json").write_text(json.dumps(meta))
    old = Forecaster.load(tmp_path / "m")
    assert old.options.loss_scale is None
    pd.testing.assert_frame_equal(f.predict(), old.predict(), check_exact=True)


def test_sqrt_variant_uses_power_one_half(monkeypatch):
    seen = []
    monkeypatch.setattr(T, "loss_weights", lambda z, m, season, ref, power, seasonal, normalise: seen.append(power) or torch.ones(len(z)))
    Forecaster(3, season=1, loss_scale="mase-sqrt", **TINY).fit(panel())
    assert seen and set(seen) == {0.5}


@pytest.mark.parametrize("bad", ["MASE", (), (None, "MASE")])
def test_bad_loss_scale_is_one_line(bad):
    with pytest.raises(ConfigError, match=r"loss_scale must be None or mase or mase-sqrt, or a non-empty list of "
                                          rf"them \(one member per entry\), got {re.escape(repr(bad))}$"):
        Forecaster(3, loss_scale=bad)


def test_a_list_trains_one_member_per_entry_each_as_that_loss_alone_would():
    """Member j of each lookback: seed j, loss entry j mod the entries; with (None, "mase") the first
    is the plain default's member and the second the second of members=2 under "mase", weight for weight."""
    df, tiny = panel(), TINY | {"lookbacks": (2.0, 3.0)}
    both = Forecaster(3, season=1, loss_scale=[None, "mase"], **tiny).fit(df)
    assert both.options.loss_scale == (None, "mase") and len(both.members_) == 4
    plain = Forecaster(3, season=1, loss_scale=None, **tiny).fit(df)
    mase = Forecaster(3, season=1, loss_scale="mase", members=2, **tiny).fit(df)
    for k, ref in ((0, plain.members_[0]), (1, mase.members_[1]), (2, plain.members_[1]), (3, mase.members_[3])):
        for name, v in ref.state_dict().items():
            assert torch.equal(both.members_[k].state_dict()[name], v), (k, name)
    assert not torch.equal(both.members_[0].state_dict()["head.0.weight"], mase.members_[0].state_dict()["head.0.weight"])


def test_a_list_times_members_and_its_save_load_round_trip(tmp_path, monkeypatch):
    seen = []
    real = E.Forecaster._train_member
    monkeypatch.setattr(E.Forecaster, "_train_member", lambda self, *a: seen.append((a[4], a[5])) or real(self, *a))
    f = Forecaster(3, season=1, loss_scale=("mase-sqrt", None), members=2, **TINY).fit(panel())
    assert seen == [(0, "mase-sqrt"), (1, None), (2, "mase-sqrt"), (3, None)]
    f.save(tmp_path / "m")
    g = Forecaster.load(tmp_path / "m")
    assert g.options.loss_scale == ("mase-sqrt", None) and len(g.members_) == 4
    pd.testing.assert_frame_equal(f.predict(), g.predict(), check_exact=True)

"""The options that shape each RNN member: which lookbacks it trains ("auto" by the panel's
series count), its recurrent cell and its optimizer's weight decay."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from rnnkit.errors import ConfigError
from rnnkit.tasks.forecast.estimator import Forecaster
from rnnkit.training import Trainer
from tests.tasks.forecast.partners import TINY
from tests.tasks.forecast.partners import volatility_panel as panel

H = 3


def _lookbacks(f: Forecaster) -> list[int]:
    return [m.lookback for m in f.members_]


def test_auto_lookbacks_add_a_one_horizon_member_on_a_panel_but_not_on_one_series():
    opts = {**TINY, "lookbacks": "auto"}
    many = Forecaster(H, season=1, **opts).fit(panel())
    assert _lookbacks(many) == [H, 2 * H, 3 * H] and many.lookbacks_ == (1.0, 2.0, 3.0)
    one = Forecaster(H, season=1, **opts).fit(panel().query("unique_id == 's0'"))
    assert _lookbacks(one) == [2 * H, 3 * H] and one.lookbacks_ == (2.0, 3.0)
    # a tuple is always taken as given, on one series too
    assert _lookbacks(Forecaster(H, season=1, **{**TINY, "lookbacks": (1.0,)}).fit(panel().query("unique_id == 's1'"))) == [H]


def test_the_held_out_fit_trains_the_fits_own_lookbacks_when_a_series_drops_out(monkeypatch):
    """The held-out copy loses the series too short to hold out from; "auto" must not then
    resolve to one series' lookbacks there, or the weights would be chosen for other members."""
    seen = []
    real = Forecaster._train_member

    def spy(self, panel_, lookback, steps, history, seed, loss_scale, label=None):
        seen.append((label, lookback))
        return real(self, panel_, lookback, steps, history, seed, loss_scale, label)

    monkeypatch.setattr(Forecaster, "_train_member", spy)
    df = panel(n_series=2)
    df = df[(df.unique_id == "s0") | (df.ds < H + 2)]  # s1: H + 2 points, 2 left after holding out H: dropped
    opts = {**TINY, "lookbacks": "auto", "theta": None, "damped": None, "rnn_min_windows": 0}
    f = Forecaster(H, season=1, **opts).fit(df)
    held = [lb for label, lb in seen if label.startswith("held-out")]
    assert _lookbacks(f) == [H, 2 * H, 3 * H] and held == [H, 2 * H, 3 * H]


@pytest.mark.parametrize("bad", ["short", (), (0.0,), (True,), ("2",)])
def test_bad_lookbacks_are_one_line(bad):
    with pytest.raises(ConfigError, match="lookbacks must be"):
        Forecaster(H, lookbacks=bad)


def test_an_lstm_member_trains_saves_and_loads_exactly(tmp_path):
    f = Forecaster(H, season=1, **{**TINY, "cell": "lstm"}).fit(panel())
    weights = f.members_[0].rnn.state_dict()["weight_hh_l0"]
    assert weights.shape == (4 * 8, 8)  # four gates of an LSTM of 8 units (a GRU has three)
    f.save(tmp_path / "m")
    pd.testing.assert_frame_equal(Forecaster.load(tmp_path / "m").predict(), f.predict())
    with pytest.raises(ConfigError, match="cell must be 'gru' or 'lstm'"):
        Forecaster(H, cell="rnn")


def test_weight_decay_shrinks_the_weights_and_zero_is_plain_adam(monkeypatch):
    optimizers = []
    real = Trainer.fit

    def spy(self, *a, **k):
        optimizers.append((self.config.optimizer, self.config.weight_decay))
        return real(self, *a, **k)

    monkeypatch.setattr(Trainer, "fit", spy)

    def norm(f):
        return float(torch.cat([p.detach().flatten() for p in f.members_[0].parameters()]).norm())

    plain = Forecaster(H, season=1, **TINY).fit(panel())
    decayed = Forecaster(H, season=1, **{**TINY, "weight_decay": 5.0}).fit(panel())
    assert optimizers == [("adam", 0.0), ("adamw", 5.0)]
    assert norm(decayed) < 0.9 * norm(plain)
    zero = Forecaster(H, season=1, **{**TINY, "weight_decay": 0.0}).fit(panel())
    assert np.array_equal(zero.predict()["forecast"], plain.predict()["forecast"])
    for bad in (-0.1, "0.1", True):
        with pytest.raises(ConfigError, match="weight_decay must be a number >= 0"):
            Forecaster(H, weight_decay=bad)

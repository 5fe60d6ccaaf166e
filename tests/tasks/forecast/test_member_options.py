"""The options that shape each RNN member: its lookbacks, its recurrent cell and its optimizer's
weight decay."""
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

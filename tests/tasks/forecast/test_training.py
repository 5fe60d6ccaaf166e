"""A Forecaster member trains on the shared Trainer: its loader, its loss module, the weight average."""
from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from rnnkit.errors import ConfigError
from rnnkit.tasks.forecast import estimator as E
from rnnkit.tasks.forecast.estimator import Forecaster
from rnnkit.tasks.forecast.training import WeightAverage, WindowBatches
from rnnkit.training import NonFiniteLossError, Trainer
from rnnkit.training import trainer as trainer_mod
from rnnkit.training.distributed import distributed_loader
from tests.tasks.forecast.partners import TINY
from tests.tasks.forecast.partners import volatility_panel as panel


def _draw(gen):
    x = torch.rand(8, 5, generator=gen)
    return x, torch.ones(8, 5), torch.rand(8, 2, generator=gen), {"future": torch.rand(8, 2, 1, generator=gen)}


def test_every_pass_draws_the_same_batches_and_a_peek_consumes_nothing():
    b = WindowBatches(_draw, 8, steps=3, seed=4)
    first = [x for x, *_ in b]
    assert len(b) == len(first) == 3
    assert torch.equal(b.peek()[0], first[0])
    assert all(torch.equal(u, v) for u, (v, *_) in zip(first, b))
    assert not torch.equal(first[0], first[1])


def test_ranks_split_every_global_batch_into_equal_slices():
    whole = list(WindowBatches(_draw, 8, steps=2, seed=1))
    ranks = [list(distributed_loader(WindowBatches(_draw, 8, steps=2, seed=1), rank_=r, world=2)) for r in (0, 1)]
    for step, (x, m, y, extra) in enumerate(whole):
        (x0, _, y0, e0), (x1, _, y1, e1) = ranks[0][step], ranks[1][step]
        assert x0.shape == (4, 5) and torch.equal(torch.cat([x0, x1]), x) and torch.equal(torch.cat([y0, y1]), y)
        assert torch.equal(torch.cat([e0["future"], e1["future"]]), extra["future"])
    with pytest.raises(ConfigError, match="batch_size 8 must divide by the 3 torchrun processes"):
        distributed_loader(WindowBatches(_draw, 8, steps=2, seed=1), rank_=0, world=3)


def test_each_member_is_one_trainer_run_of_the_budgets_steps(monkeypatch):
    runs = []
    real = Trainer.fit

    def spy(self, loader, *a, **k):
        result = real(self, loader, *a, **k)
        runs.append((self.config.scheduler, self.config.max_steps, self.step, len(loader)))
        return result

    monkeypatch.setattr(Trainer, "fit", spy)
    f = Forecaster(3, season=1, **{**TINY, "lookbacks": (2.0, 3.0)}).fit(panel())
    assert len(f.members_) == 2 and runs == [("onecycle", 30, 30, 30)] * 2


def test_a_non_finite_loss_stops_fit_with_one_line(monkeypatch):
    """The Trainer's check; the Forecaster's own loop used to train on through NaN."""
    real = E.GlobalRNN.forward
    monkeypatch.setattr(E.GlobalRNN, "forward", lambda self, *a, **k: real(self, *a, **k) * float("nan"))
    with pytest.raises(NonFiniteLossError, match=r"non-finite loss \(nan\) at epoch 1, step 1 "):
        Forecaster(3, season=1, **TINY).fit(panel())


def test_the_weight_average_replaces_the_weights_at_the_end():
    net = torch.nn.Linear(2, 1)

    class Run:  # what the callback reads off the trainer
        model = net

    avg = WeightAverage(0.5)
    avg.on_fit_start(Run)
    start = [p.detach().clone() for p in net.parameters()]
    with torch.no_grad():
        for p in net.parameters():
            p.add_(1.0)
    avg.on_batch_end(Run, 1, 0.0)  # step 1: d = min(0.5, 1/10) = 0.1 -> 0.1 start + 0.9 new
    avg.on_fit_end(Run)
    for p, s in zip(net.parameters(), start):
        assert torch.allclose(p, s + 0.9)


def test_fit_leaves_the_callers_random_generators_alone():
    """The Trainer seeds Python, NumPy and torch; a user's own draws after fit go on as without it."""
    def draws():
        return random.random(), float(np.random.rand()), float(torch.rand(1))

    for seed in (5, 6):
        random.seed(seed), np.random.seed(seed), torch.manual_seed(seed)
        want = draws()
        random.seed(seed), np.random.seed(seed), torch.manual_seed(seed)
        Forecaster(3, season=1, **TINY).fit(panel())
        assert draws() == want


def test_verbose_draws_a_bar_per_member_named_by_its_fit(monkeypatch):
    shown = []

    class Bar:  # what the Trainer draws, recorded
        def __init__(self, enabled):
            self.enabled = enabled

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            pass

        def start_epoch(self, epoch, epochs, total, label=None):
            shown.append((self.enabled, label, total))

        def advance(self, loss):
            pass

        def end_epoch(self, summary):
            shown.append(summary.split(":")[0])

    monkeypatch.setattr(trainer_mod, "EpochProgress", Bar)
    monkeypatch.setattr(trainer_mod, "progress_enabled", lambda wanted: wanted)  # as on a terminal
    Forecaster(3, season=1, verbose=True, **{**TINY, "theta": None, "damped": None}).fit(panel())
    assert shown == [(True, "member 1/1", 30), "member 1/1", (True, "held-out fit, member 1/1", 30),
                     "held-out fit, member 1/1"]
    shown.clear()
    Forecaster(3, season=1, **TINY).fit(panel())
    assert shown == [(False, "member 1/1", 30), "member 1/1"]  # off by default
    with pytest.raises(ConfigError, match="verbose must be True or False"):
        Forecaster(3, verbose="yes")

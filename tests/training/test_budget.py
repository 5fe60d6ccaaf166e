"""The time budget covers training and validation (rnnkit.training.budget), on a fake clock."""
from __future__ import annotations

import pytest
import torch
from torch.nn import functional as F

from rnnkit.training import TrainConfig, Trainer
from rnnkit.training import budget as budget_mod


class Clocked(torch.nn.Module):
    """A tiny regression model whose every batch advances a fake clock: ``train_s`` per
    training batch, ``val_s`` per validation batch; it counts validation batches."""

    def __init__(self, clock: list, train_s: float, val_s: float) -> None:
        super().__init__()
        self.lin = torch.nn.Linear(2, 1)
        self.clock, self.train_s, self.val_s = clock, train_s, val_s
        self.val_batches = 0

    def compute_loss(self, batch):
        x, y = batch
        if self.training:
            self.clock[0] += self.train_s
        else:
            self.clock[0] += self.val_s
            self.val_batches += 1
        return F.mse_loss(self.lin(x), y)


def _batches(n):
    g = torch.Generator().manual_seed(0)
    return [(torch.randn(4, 2, generator=g), torch.randn(4, 1, generator=g)) for _ in range(n)]


@pytest.fixture
def clock(monkeypatch):
    now = [0.0]
    monkeypatch.setattr(budget_mod, "now", lambda: now[0])
    return now


def _fit(model, budget, epochs=5, train=20, val=5, **kw):
    cfg = TrainConfig(epochs=epochs, lr=1e-2, device="cpu", progress=False, threads=1,
                      time_budget=budget)
    trainer = Trainer(model, cfg, **kw)
    return trainer, trainer.fit(_batches(train), _batches(val) if val else None)


def test_training_leaves_room_for_validation_within_the_budget(clock):
    # 1 s per step; validation (5 batches) is estimated at half a step per batch, 2.5 s:
    # training stops after step 8 (8 + 2.5 >= 10), validation takes 1.5 s: 9.5 s in all.
    model = Clocked(clock, train_s=1.0, val_s=0.3)
    trainer, result = _fit(model, budget=10.0)
    assert result.stopped_reason == "time_budget"
    assert trainer.step == 8 and model.val_batches == 5
    assert clock[0] <= 10.0


def test_a_slow_validation_stops_at_the_budget(clock):
    # Validation batches take 3 s each, far over the estimate: the pass stops after the
    # batch that spends the budget, and its loss is the mean over that batch.
    model = Clocked(clock, train_s=1.0, val_s=3.0)
    trainer, result = _fit(model, budget=10.0)
    assert (result.stopped_reason, trainer.step, model.val_batches) == ("time_budget", 8, 1)
    assert clock[0] == pytest.approx(11.0)
    assert result.history[-1]["val_loss"] is not None


def test_later_epochs_reserve_the_measured_validation_time(clock):
    # Epoch 1: 5 steps (5 s) and a validation of 5 × 0.8 s = 4 s (estimated at 2.5 s).
    # Epoch 2 reserves the measured 4 s: it stops after step 8 (12 + 4 >= 16; with the
    # first estimate it would go on to step 10), then validates in 4 s: 16 s in all.
    model = Clocked(clock, train_s=1.0, val_s=0.8)
    trainer, result = _fit(model, budget=16.0, train=5)
    assert result.epochs_run == 2 and result.stopped_reason == "time_budget"
    assert trainer.step == 8 and clock[0] <= 16.0 + 1e-9


def test_extra_passes_are_reserved_too(clock):
    # One more validation pass after fit (as `rnnkit text train` scores the best model):
    # training stops at 8 + 2 × 2.5 >= 13, leaving 1.5 s for the pass in fit and 1.5 after.
    model = Clocked(clock, train_s=1.0, val_s=0.3)
    trainer, result = _fit(model, budget=13.0, extra_val_passes=1)
    assert trainer.step == 8 and clock[0] + 1.5 <= 13.0


def test_no_validation_loader_trains_to_the_budget(clock):
    model = Clocked(clock, train_s=1.0, val_s=0.3)
    trainer, result = _fit(model, budget=10.0, val=0)
    assert trainer.step == 10 and result.stopped_reason == "time_budget"


def test_validation_has_its_own_progress_bar(monkeypatch, clock):
    from rnnkit.training import trainer as trainer_mod

    events = []

    class Recorder:
        def __init__(self, enabled):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            pass

        def start_epoch(self, epoch, epochs, total, label=None):
            events.append(("epoch", total))

        def start_validation(self, total):
            events.append(("validation", total))

        def advance(self, loss):
            events.append("advance")

        def end_epoch(self, summary):
            events.append("end")

    monkeypatch.setattr(trainer_mod, "EpochProgress", Recorder)
    model = Clocked(clock, train_s=1.0, val_s=0.1)
    _fit(model, budget=None, epochs=1, train=3, val=2)
    assert events == [("epoch", 3), "advance", "advance", "advance",
                      ("validation", 2), "advance", "advance", "end"]

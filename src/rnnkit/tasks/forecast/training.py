"""What a `Forecaster` member needs from the shared `rnnkit.training.Trainer`, and nothing else.

The Trainer owns the loop, as for every task: Adam, gradients clipped at norm 1, a one-cycle
learning rate stepped after every optimizer step (``scheduler="onecycle"``), the non-finite loss
check, Ctrl-C, and data-parallel training under torchrun (DDP averages the gradients). This
module gives it the three things particular to forecasting:

- :class:`WindowBatches`, the loader: ``steps`` batches of training windows cut at random
  (series, point) pairs of the panel with tensor indexing (``rnnkit.data.panel.sample_windows``),
  from a generator seeded anew at every pass, so a peek at the first batch (DDP's check for
  unused parameters) moves nothing. Under torchrun every rank draws the same global batch and
  keeps its slice r·B/W .. (r+1)·B/W (:meth:`WindowBatches.shard`); the mean of equal slices'
  mean losses is the whole batch's, so W ranks take the steps one process would.
- :class:`WindowLoss`, the module whose ``compute_loss(batch)`` divides each window by its level
  (on a log scale for a positive panel), runs the network and returns the pinball loss, each window's
  weighted like MASE under ``loss_scale`` (the weights' mean taken over the global batch).
- :class:`WeightAverage`, the callback behind ``ema``: a moving average of the weights, put in
  at the end of training.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from rnnkit.data.panel import scale_windows
from rnnkit.errors import ConfigError
from rnnkit.models.global_forecast import GlobalRNN, loss_weights, pinball_loss
from rnnkit.tasks.forecast.parallel import batch_mean
from rnnkit.training.callbacks import Callback

__all__ = ["WeightAverage", "WindowBatches", "WindowLoss", "scale_target"]

Batch = tuple  # (x (B, L), m (B, L), y (B, H), the covariates' inputs {name: (B, ...)})


class WindowBatches:
    """``steps`` batches ``draw(generator)`` of ``batch_size`` windows, the generator seeded with
    ``seed`` at each pass."""

    def __init__(self, draw: Callable[[torch.Generator], Batch], batch_size: int, steps: int, seed: int,
                 part: slice | None = None) -> None:
        self.draw, self.batch_size, self.steps, self.seed, self.part = draw, batch_size, steps, seed, part

    def __len__(self) -> int:
        return self.steps

    def __iter__(self):
        gen = torch.Generator().manual_seed(self.seed)
        for _ in range(self.steps):
            yield self._slice(self.draw(gen))

    def peek(self) -> Batch:
        """The first batch, as iterating gives it (nothing is consumed)."""
        return next(iter(self))

    def shard(self, rank: int, world: int) -> WindowBatches:
        """This rank's slice of every global batch (``rnnkit.training.distributed.distributed_loader``)."""
        if self.batch_size % world:
            raise ConfigError(f"Forecaster: batch_size {self.batch_size} must divide by the {world} torchrun processes")
        n = self.batch_size // world
        return WindowBatches(self.draw, self.batch_size, self.steps, self.seed, slice(rank * n, (rank + 1) * n))

    def _slice(self, batch: Batch) -> Batch:
        if self.part is None:
            return batch
        x, m, y, extra = batch
        p = self.part
        return x[p], m[p], y[p], {k: v[p] for k, v in extra.items()}


def scale_target(y: torch.Tensor, level: torch.Tensor, spread: torch.Tensor, log: bool) -> torch.Tensor:
    """The horizon's values (B, H) on their window's scale (``scale_windows``)."""
    if log:
        return torch.log(y.clamp(min=1e-12) / level[:, None]).clamp(-20, 20)
    return (y - level[:, None]) / spread[:, None]


class WindowLoss(nn.Module):
    """``compute_loss(batch)``: the pinball loss of ``net`` on a batch of raw windows.

    ``k``: points averaged for each window's level; ``log``: the log scale; ``weighting``:
    None, or (season, r, power, seasonal) of ``loss_weights`` (``loss_scale``)."""

    def __init__(self, net: GlobalRNN, k: int, log: bool, weighting: tuple | None = None) -> None:
        super().__init__()
        self.net, self.k, self.log, self.weighting = net, k, log, weighting

    def compute_loss(self, batch: Batch) -> torch.Tensor:
        x, m, y, extra = batch
        z, level, spread = scale_windows(x, m, self.k, self.log)
        w = None
        if self.weighting is not None:  # mean 1 over the global batch, also under torchrun (parallel.py)
            season, ref, power, seasonal = self.weighting
            w = loss_weights(z, m, season, ref, power, seasonal, normalise=False)  # (B,)
            w = w / batch_mean(w)
        return pinball_loss(self.net(z, m, **extra), scale_target(y, level, spread, self.log), self.net.quantiles, w)


class WeightAverage(Callback):
    """Polyak averaging of the weights with decay ``decay``, warmed up as min(decay, (1 + i) / (10 + i))
    at step i = 0, 1, ... so the first weights do not dominate; the average replaces the weights at the end."""

    def __init__(self, decay: float) -> None:
        self.decay = decay
        self.avg: list[torch.Tensor] = []

    def on_fit_start(self, trainer) -> None:
        self.params = list(trainer.model.parameters())
        self.avg = [p.detach().clone() for p in self.params]

    def on_batch_end(self, trainer, step: int, loss: float) -> None:
        i = step - 1  # the trainer counts steps from 1
        d = min(self.decay, (1 + i) / (10 + i))
        with torch.no_grad():
            torch._foreach_lerp_(self.avg, [p.detach() for p in self.params], 1 - d)

    def on_fit_end(self, trainer) -> None:
        with torch.no_grad():
            for p, a in zip(self.params, self.avg):
                p.copy_(a)

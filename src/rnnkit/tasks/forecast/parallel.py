"""Data-parallel training of a `Forecaster` under ``torchrun`` (gloo on CPU).

    torchrun --nproc-per-node 2 -m rnnkit forecast train --data panel.csv --group-col id ...

Every rank builds the same panel and the same model (same seed), and draws the same
global batch of ``batch_size`` windows from the same generator; rank r then trains on
its slice r·B/W .. (r+1)·B/W of that batch, and the gradients are averaged over the W
ranks (an all-reduce hook on each parameter) before clipping and the optimizer step.
The mean of equal slices' mean losses is the mean loss of the whole batch, so W ranks
take the same steps as one process would (up to the order of float sums), with 1/W of the
forward and backward work each. Only rank 0 writes files (``rnnkit.tasks.forecast.pipeline``).
Outside torchrun everything here is a no-op.
"""

from __future__ import annotations

import torch
import torch.distributed as dist

from rnnkit.errors import ConfigError
from rnnkit.training.distributed import init_distributed, is_active, launched, rank, world_size

__all__ = ["batch_mean", "rank_slice", "sync_gradients"]


def _world() -> int:
    if launched() and not is_active():
        init_distributed()  # gloo: the Forecaster trains on the CPU
    return world_size() if is_active() else 1


def sync_gradients(model: torch.nn.Module) -> torch.nn.Module:
    """``model`` with each parameter's gradient averaged over the ranks (unchanged outside torchrun)."""
    W = _world()
    if W > 1:
        for p in model.parameters():
            p.register_hook(lambda g: _mean(g, W))
    return model


def _mean(g: torch.Tensor, W: int) -> torch.Tensor:
    g = g.clone()
    dist.all_reduce(g)
    return g / W


def rank_slice(batch: int) -> slice | None:
    """This rank's part of a global batch (None outside torchrun)."""
    W = _world()
    if W == 1:
        return None
    if batch % W:
        raise ConfigError(f"Forecaster: batch_size {batch} must divide by the {W} torchrun processes")
    n = batch // W
    return slice(rank() * n, (rank() + 1) * n)


def batch_mean(t: torch.Tensor) -> torch.Tensor:
    """The mean of t (n,) over the whole global batch: every rank's equal slice (t.mean() outside torchrun)."""
    W = _world()
    if W == 1:
        return t.mean()
    total = t.sum().detach().clone()
    dist.all_reduce(total)
    return total / (len(t) * W)

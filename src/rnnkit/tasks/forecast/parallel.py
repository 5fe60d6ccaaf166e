"""Data-parallel training of a `Forecaster` under ``torchrun`` (gloo on CPU).

    torchrun --nproc-per-node 2 -m rnnkit forecast train --data panel.csv --group-col id ...

Each member trains on the shared Trainer, which joins the process group and wraps the loss in
DDP (``rnnkit.training.distributed``): every rank builds the same panel and the same model (same
seed), draws the same global batch of ``batch_size`` windows and trains on its slice of it
(``training.WindowBatches.shard``), and DDP averages the gradients before clipping and the
optimizer step. The mean of equal slices' mean losses is the mean loss of the whole batch, so W
ranks take the same steps as one process would (up to the order of float sums), with 1/W of the
forward and backward work each. What the loss itself needs from the other ranks is here. Only
rank 0 writes files (``rnnkit.tasks.forecast.pipeline``). Outside torchrun it is a no-op.
"""

from __future__ import annotations

import torch
import torch.distributed as dist

from rnnkit.training.distributed import init_distributed, is_active, launched, world_size

__all__ = ["batch_mean"]


def _world() -> int:
    if launched() and not is_active():
        init_distributed()  # gloo: the Forecaster trains on the CPU
    return world_size() if is_active() else 1


def batch_mean(t: torch.Tensor) -> torch.Tensor:
    """The mean of t (n,) over the whole global batch: every rank's equal slice (t.mean() outside torchrun)."""
    W = _world()
    if W == 1:
        return t.mean()
    total = t.sum().detach().clone()
    dist.all_reduce(total)
    return total / (len(t) * W)

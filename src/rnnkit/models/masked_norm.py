"""Batch normalisation over the valid steps of a padded batch (the hybrid's convolutions and
its summary branch), with running statistics shared across torch.distributed ranks."""
from __future__ import annotations

from typing import Callable

import torch
import torch.distributed as dist
from torch import nn

__all__ = ["MaskedBatchNorm1d", "reestimate_statistics"]


def _global_moments(x, mask, count, mean, var):
    """(count, mean, biased variance) over every rank's valid steps when torch.distributed is
    running with more than one process (so every rank's running statistics stay equal);
    this rank's own otherwise. x (B, N, T), mask (B, 1, T)."""
    if not (dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1):
        return count, mean, var
    sums = torch.cat([(x * mask).sum(dim=(0, 2)), (x * x * mask).sum(dim=(0, 2)), count.reshape(1)])  # (2N+1,)
    dist.all_reduce(sums)
    n = x.shape[1]
    total = sums[-1].clamp_min(1.0)
    g_mean = sums[:n] / total
    return total, g_mean, (sums[n:2 * n] / total - g_mean * g_mean).clamp_min(0.0)


class MaskedBatchNorm1d(nn.Module):
    """Batch normalisation of (B, N, T) over the valid steps only.

    Training: mu_n, var_n are the mean and (biased) variance of channel n over every
    (b, t) with mask[b, t] = 1; the running estimates move by ``momentum`` toward mu and
    the unbiased variance, as ``torch.nn.BatchNorm1d``; under torch.distributed those running
    estimates use every rank's valid steps (one all-reduce), so all ranks keep the same ones.
    Evaluation uses the running ones.
    y = (x - mu) / sqrt(var + eps) * weight + bias, then zero at masked steps.
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1) -> None:
        super().__init__()
        self.eps, self.momentum = eps, momentum
        self.weight = nn.Parameter(torch.ones(num_features))
        self.bias = nn.Parameter(torch.zeros(num_features))
        self.register_buffer("running_mean", torch.zeros(num_features))
        self.register_buffer("running_var", torch.ones(num_features))

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        # x (B, N, T), mask (B, 1, T) of 0/1
        if self.training:
            count = mask.sum().clamp_min(1.0)
            mean = (x * mask).sum(dim=(0, 2)) / count                    # (N,)
            var = (((x - mean[None, :, None]) * mask) ** 2).sum(dim=(0, 2)) / count  # (N,)
            with torch.no_grad():
                g_count, g_mean, g_var = _global_moments(x.detach(), mask, count, mean.detach(), var.detach())
                unbiased = g_var * g_count / (g_count - 1).clamp_min(1.0)
                self.running_mean.lerp_(g_mean, self.momentum)
                self.running_var.lerp_(unbiased, self.momentum)
        else:
            mean, var = self.running_mean, self.running_var
        y = (x - mean[None, :, None]) * torch.rsqrt(var[None, :, None] + self.eps)  # (B, N, T)
        return (y * self.weight[None, :, None] + self.bias[None, :, None]) * mask


def reestimate_statistics(network: nn.Module, run: Callable[[], object]) -> int:
    """Replace the running statistics of every :class:`MaskedBatchNorm1d` in ``network`` by those
    of one forward pass, ``run()``, which must put all its data through in a single batch.

    Afterwards each layer's running mean and (unbiased) variance are those of its input over
    that batch's valid steps, each layer seeing its input normalised by the layers before it
    with the new statistics: test-time adaptation of batch normalisation to unlabelled data
    (AdaBN; Li, Wang, Shi, Liu and Hou, "Revisiting batch normalization for practical domain
    adaptation", 2016). Weights are untouched, gradients are not taken, and the network is
    left in evaluation mode. Returns how many layers were re-estimated (0: none to adapt).
    """
    norms = [m for m in network.modules() if isinstance(m, MaskedBatchNorm1d)]
    momenta = [m.momentum for m in norms]
    network.eval()
    try:
        for m in norms:
            m.train()
            m.momentum = 1.0  # the running estimates become this batch's own
        with torch.no_grad():
            run()
    finally:
        for m, momentum in zip(norms, momenta):
            m.momentum = momentum
        network.eval()
    return len(norms)

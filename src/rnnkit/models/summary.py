"""An order-free summary of each series: quantiles of its values and of its first differences.

For a sequence x (T its own length, F channels) and K >= 2 levels q_k = k / (K - 1)::

    Q_x[f, k]  = quantile_{q_k}({x_t,f : t < T})                       (F, K)
    Q_d[f, k]  = quantile_{q_k}({x_{t+1},f - x_t,f : t < T - 1})       (F, K)   (0 when T = 1)
    s          = relu(W BN([Q_x ; Q_d]) + b)                           (H,)   (the head's dropout follows)

with the quantile of n sorted values a_0 <= ... <= a_{n-1} at level q the linear
interpolation a_lo + (p - lo)(a_hi - a_lo), p = q (n - 1), lo = floor(p), hi = min(lo + 1,
n - 1) (numpy's default method). These statistics ignore the order of the steps: they see the
distribution of a series' levels and jumps (an appliance's power levels and switching), which a
global average of convolution outputs captures poorly. A padded batch is sorted with +inf at
the padded steps and each series is read at positions scaled by its own length, so padding
never enters a quantile; BN is :class:`~rnnkit.models.masked_norm.MaskedBatchNorm1d` over the
batch (one "step" per series).
"""
from __future__ import annotations

import torch
from torch import nn

from rnnkit.models.masked_norm import MaskedBatchNorm1d

__all__ = ["masked_quantiles", "SummaryBranch"]


def masked_quantiles(x: torch.Tensor, lengths: torch.Tensor, levels: torch.Tensor) -> torch.Tensor:
    """x (B, T, F) padded, lengths (B,) >= 1, levels (K,) in [0, 1] -> (B, F, K): the quantiles
    of each series' first lengths[b] steps, channel by channel; differentiable in x."""
    B, T, Fdim = x.shape
    valid = torch.arange(T, device=x.device)[None, :] < lengths[:, None]          # (B, T)
    s, _ = torch.sort(x.masked_fill(~valid[:, :, None], float("inf")), dim=1)      # (B, T, F), inf last
    n = lengths.to(x.dtype)[:, None]                                               # (B, 1)
    p = levels.to(x.dtype)[None, :] * (n - 1)                                      # (B, K)
    lo = p.floor().long().clamp(min=0)
    hi = torch.minimum(lo + 1, lengths[:, None].long() - 1)                        # (B, K)
    frac = (p - lo.to(x.dtype))[:, :, None]                                        # (B, K, 1)
    a = s.gather(1, lo[:, :, None].expand(B, lo.shape[1], Fdim))                   # (B, K, F)
    b = s.gather(1, hi[:, :, None].expand(B, hi.shape[1], Fdim))                   # (B, K, F)
    return (a + frac * (b - a)).transpose(1, 2)                                    # (B, F, K)


class SummaryBranch(nn.Module):
    """K quantiles of each channel's values and of its first differences, then BN, a linear
    layer of ``width`` units and ReLU (see the module docstring)."""

    def __init__(self, input_size: int, levels: int, width: int = 64) -> None:
        super().__init__()
        self.levels = int(levels)
        self.norm = MaskedBatchNorm1d(2 * input_size * int(levels))
        self.proj = nn.Linear(2 * input_size * int(levels), width)
        self.width = width

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        # x (B, T, F) with zeros at padded steps, lengths (B,)
        B = x.shape[0]
        levels = torch.arange(self.levels, device=x.device, dtype=x.dtype) / (self.levels - 1)  # (K,)
        q_x = masked_quantiles(x, lengths, levels)                            # (B, F, K)
        if x.shape[1] > 1:
            d_lengths = (lengths - 1).clamp_min(1)
            d = x[:, 1:] - x[:, :-1]                                               # (B, T-1, F)
            q_d = masked_quantiles(d, d_lengths, levels)                      # (B, F, K)
            q_d = q_d * (lengths > 1).to(x.dtype)[:, None, None]                   # T = 1: no difference, 0
        else:
            q_d = torch.zeros_like(q_x)
        z = torch.cat([q_x, q_d], dim=1).reshape(B, -1, 1)                         # (B, 2FK, 1)
        z = self.norm(z, torch.ones_like(z[:, :1])).squeeze(2)                     # (B, 2FK)
        return torch.relu(self.proj(z))                              # (B, width)

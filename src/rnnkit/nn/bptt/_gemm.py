"""The per-step recurrent product ``out = base + h @ W^T`` in one call.

``StepMatmul(W)`` holds ``W^T`` once per sequence, so the time loop makes one
``addmm`` per step with no transposes or allocations: ``base`` is the step's slice of
the hoisted input projection and ``out`` a slice of a preallocated buffer.
"""
from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["StepMatmul"]


class StepMatmul:
    """h (b, K) ↦ h @ W^T (b, N), for W (N, K), written into preallocated buffers."""

    def __init__(self, weight: Tensor):
        self.weight_t = weight.t()  # (K, N), a view: MKL reads the transposed layout

    def addmm_(self, out: Tensor, h: Tensor) -> Tensor:
        """out += h @ W^T, in place."""
        return out.addmm_(h, self.weight_t)

    def addmm(self, base: Tensor, h: Tensor, out: Tensor) -> Tensor:
        """out = base + h @ W^T."""
        return torch.addmm(base, h, self.weight_t, out=out)

    def mm(self, h: Tensor, out: Tensor) -> Tensor:
        """out = h @ W^T."""
        return torch.mm(h, self.weight_t, out=out)

"""The work per step is constant: elements written grow linearly in T (no O(T²) backward).

Indexing a whole-sequence tensor inside an autograd loop makes each step's backward
allocate and add a full-size gradient, so the elements written grow like T². Counting
the elements every aten op writes catches that without timing anything.
"""
from __future__ import annotations

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from tests.nn.test_bptt_layers import direction_weights, initial_states, ours, torch_layer


class _CountElements(TorchDispatchMode):
    """Sums the number of elements of every tensor an aten op returns."""

    def __init__(self):
        super().__init__()
        self.count = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in out if isinstance(out, (tuple, list)) else [out]:
            if isinstance(t, torch.Tensor):
                self.count += t.numel()
        return out


def _ops(cell: str, T: int, packed: bool) -> tuple[int, int]:
    """(forward, backward) elements written by one layer-direction over T steps."""
    B, I, H = 3, 2, 4
    m = torch_layer(cell, I, H)
    x = torch.randn(T, B, I, dtype=torch.float64, requires_grad=True)
    states = [s[0].detach().requires_grad_() for s in initial_states(cell, m, B)]
    ws = direction_weights(m, False)
    batch_sizes = [B] * (T // 2) + [B - 1] * (T - T // 2) if packed else None
    with _CountElements() as fwd:
        outs = ours(cell, x, states, ws, batch_sizes=batch_sizes)
    loss = sum(o.sum() for o in outs)
    with _CountElements() as bwd:
        loss.backward()
    return fwd.count, bwd.count


@pytest.mark.parametrize(("cell", "packed"), [("lstm", False), ("lstm", True), ("gru", True), ("rnn_tanh", False)])
def test_work_grows_linearly_with_T(cell, packed):
    f8, b8 = _ops(cell, 6, packed)
    f16, b16 = _ops(cell, 12, packed)
    f32, b32 = _ops(cell, 24, packed)
    # Doubling T doubles the increment (linear), where T² would quadruple it.
    assert (f32 - f16) == pytest.approx(2 * (f16 - f8), rel=0.05), (f8, f16, f32)
    assert (b32 - b16) == pytest.approx(2 * (b16 - b8), rel=0.05), (b8, b16, b32)

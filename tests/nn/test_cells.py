"""RNNCell, LSTMCell, GRUCell against torch.nn's cells, and stepwise against the layers."""
from __future__ import annotations

import itertools

import pytest
import torch

import rnnkit.nn
from tests.nn.helpers import assert_close, flat, weighted_sum

B, I, H = 3, 3, 4
CELLS = [("LSTMCell", {}), ("GRUCell", {}), ("RNNCell", {"nonlinearity": "tanh"}),
         ("RNNCell", {"nonlinearity": "relu"})]


def twins(cls, extra, bias=True):
    theirs = getattr(torch.nn, cls)(I, H, bias=bias, dtype=torch.float64, **extra)
    ours = getattr(rnnkit.nn, cls)(I, H, bias=bias, dtype=torch.float64, **extra)
    ours.load_state_dict(theirs.state_dict(), strict=True)
    return ours, theirs


@pytest.mark.parametrize("cell,bias,batched,with_state",
                         list(itertools.product(range(len(CELLS)), [True, False], [True, False], [True, False])))
def test_cell_matches_torch(cell, bias, batched, with_state):
    cls, extra = CELLS[cell]
    ours, theirs = twins(cls, extra, bias)
    gen = torch.Generator().manual_seed(1)
    lead = (B,) if batched else ()
    x = torch.randn(*lead, I, generator=gen, dtype=torch.float64)
    states = [torch.randn(*lead, H, generator=gen, dtype=torch.float64)
              for _ in range(2 if cls == "LSTMCell" else 1)]
    results = []
    for module in (ours, theirs):
        leaves = [t.clone().requires_grad_() for t in [x, *states]]
        hx = None
        if with_state:
            hx = tuple(leaves[1:]) if cls == "LSTMCell" else leaves[1]
        out = module(leaves[0], hx)
        weighted_sum(flat(out)).backward()
        used = leaves if with_state else leaves[:1]
        results.append((flat(out), [t.grad for t in used], [p.grad for p in module.parameters()]))
    for got, want in zip(results[0], results[1]):
        for a, b in zip(got, want, strict=True):
            assert_close(a, b)


@pytest.mark.parametrize("cls,extra", CELLS)
def test_cell_steps_equal_one_layer(cls, extra):
    """T single steps with carried state equal one call of the one-layer sequence model."""
    layer_cls = cls[:-4]
    cell = getattr(rnnkit.nn, cls)(I, H, dtype=torch.float64, **extra)
    layer = getattr(rnnkit.nn, layer_cls)(I, H, dtype=torch.float64, backend="rnnkit", **extra)
    layer.load_state_dict({k + "_l0": v for k, v in cell.state_dict().items()})
    x = torch.randn(6, B, I, dtype=torch.float64)
    y, state = layer(x)
    hx = None
    outputs = []
    for x_t in x.unbind(0):
        hx = cell(x_t, hx)
        outputs.append(hx[0] if cls == "LSTMCell" else hx)
    assert_close(torch.stack(outputs), y)
    final = state[0] if cls == "LSTMCell" else state
    assert_close(outputs[-1], final[0])
    if cls == "LSTMCell":
        assert_close(hx[1], state[1][0])


def test_cell_never_changes_its_state_arguments():
    cell = rnnkit.nn.LSTMCell(I, H)
    h, c = torch.randn(B, H), torch.randn(B, H)
    h0, c0 = h.clone(), c.clone()
    cell(torch.randn(B, I), (h, c))
    assert torch.equal(h, h0) and torch.equal(c, c0)

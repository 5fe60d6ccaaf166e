"""rnnkit.nn layers against torch.nn, float64, copied weights, forward and backward.

Outputs, final states and the gradients with respect to the input, the initial states
and every parameter must agree to 1e-10 over a grid of configurations.
"""
from __future__ import annotations

import itertools

import pytest
import torch

from tests.nn.helpers import (
    as_state,
    assert_close,
    flat,
    make_twins,
    pack,
        state_shapes,
    weighted_sum,
)

T, B, I, H, P = 5, 3, 3, 4, 2
LENGTHS = [3, 5, 2]  # unsorted on purpose: enforce_sorted=False
# (bias, batch_first, projected, initial state given)
FLAGS = [(True, False, False, True), (False, True, True, True), (True, True, True, False)]
GRID = list(itertools.product(
    ["LSTM", "GRU", "RNN_TANH", "RNN_RELU"], [1, 2, 3], [False, True],
    ["padded", "packed", "unbatched"], range(len(FLAGS)),
))


def run_case(mode, num_layers, bidirectional, kind, flags, backend="rnnkit"):
    bias, batch_first, projected, with_state = FLAGS[flags]
    proj = P if projected and mode == "LSTM" else 0
    kwargs = dict(input_size=I, hidden_size=H, num_layers=num_layers, bias=bias,
                  batch_first=batch_first, bidirectional=bidirectional,
                  dropout=0.25 if num_layers > 1 else 0.0)
    if proj:
        kwargs["proj_size"] = proj
    ours, theirs = make_twins(mode, backend=backend, **kwargs)
    ours.eval()
    theirs.eval()  # dropout > 0 must not act in eval mode

    gen = torch.Generator().manual_seed(3)
    x_shape = (T, I) if kind == "unbatched" else ((B, T, I) if batch_first else (T, B, I))
    x = torch.randn(x_shape, generator=gen, dtype=torch.float64)
    shapes = state_shapes(mode, num_layers, bidirectional, H, proj)
    if kind != "unbatched":
        shapes = [(ld, B, w) for ld, w in shapes]
    states = [torch.randn(s, generator=gen, dtype=torch.float64) for s in shapes]

    results = []
    for module in (ours, theirs):
        leaves = [x.clone().requires_grad_()] + [s.clone().requires_grad_() for s in states]
        inp = pack(leaves[0], LENGTHS, batch_first) if kind == "packed" else leaves[0]
        hx = as_state(mode, leaves[1:]) if with_state else None
        out = module(inp, hx)
        weighted_sum(flat(out)).backward()
        grads = [leaf.grad for leaf in leaves[: 1 + (len(states) if with_state else 0)]]
        params = {n: p.grad for n, p in module.named_parameters()}
        results.append((out, grads, params))
    return results


@pytest.mark.parametrize("mode,num_layers,bidirectional,kind,flags", GRID)
def test_matches_torch(mode, num_layers, bidirectional, kind, flags, sequence_impl):
    (out, grads, params), (t_out, t_grads, t_params) = run_case(mode, num_layers, bidirectional, kind, flags)
    assert type(out[0]) is type(t_out[0])
    if kind == "packed":
        assert torch.equal(out[0].sorted_indices, t_out[0].sorted_indices)
        assert torch.equal(out[0].unsorted_indices, t_out[0].unsorted_indices)
    for k, (a, b) in enumerate(zip(flat(out), flat(t_out), strict=True)):
        assert_close(a, b, what=f"result {k}")
    for k, (a, b) in enumerate(zip(grads, t_grads, strict=True)):
        assert_close(a, b, what=f"grad of input/state {k}")
    assert params.keys() == t_params.keys()
    for name in params:
        assert_close(params[name], t_params[name], what=f"grad of {name}")


@pytest.mark.parametrize("mode", ["LSTM", "GRU", "RNN_TANH"])
@pytest.mark.parametrize("kind", ["padded", "packed"])
def test_torch_backend_is_torch_exactly(mode, kind):
    (out, grads, params), (t_out, t_grads, t_params) = run_case(mode, 2, True, kind, 1, backend="torch")
    for a, b in zip(flat(out) + grads + list(params.values()),
                    flat(t_out) + t_grads + list(t_params.values()), strict=True):
        assert torch.equal(a, b)


def test_batch_first_output_layout():
    ours, theirs = make_twins("LSTM", input_size=I, hidden_size=H, batch_first=True)
    x = torch.randn(B, T, I, dtype=torch.float64)
    y, (h, c) = ours(x)
    assert y.shape == (B, T, H) and h.shape == (1, B, H) and c.shape == (1, B, H)
    assert_close(y, theirs(x)[0])

"""rnnkit.nn layers against the NumPy reference (hand-written BPTT), float64.

Same comparison as against torch.nn: outputs, final states, and the gradients with
respect to the input, the initial states and every parameter, to 1e-10. The reference
has no directions, projection or packing; those are covered against torch.nn.
"""
from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

import rnnkit.nn
from tests.nn.helpers import assert_close

reference = pytest.importorskip("rnnkit.reference")

T, B, I, H = 5, 3, 3, 4
MODES = {"LSTM": ("LSTM", {}), "GRU": ("GRU", {}), "RNN_TANH": ("RNN", {"nonlinearity": "tanh"}),
         "RNN_RELU": ("RNN", {"nonlinearity": "relu"})}


@pytest.mark.parametrize("mode,num_layers,bias", list(itertools.product(MODES, [1, 2, 3], [True, False])))
def test_matches_reference(mode, num_layers, bias, sequence_impl):
    cls, extra = MODES[mode]
    oracle = getattr(reference, cls)(I, H, num_layers, bias=bias, seed=5, **extra)
    ours = getattr(rnnkit.nn, cls)(I, H, num_layers, bias=bias, backend="rnnkit",
                                   dtype=torch.float64, **extra)
    ours.load_state_dict({k: torch.from_numpy(v) for k, v in oracle.state_dict().items()}, strict=True)

    rng = np.random.default_rng(11)
    n_states = 2 if mode == "LSTM" else 1
    x = rng.standard_normal((T, B, I))
    states = [rng.standard_normal((num_layers, B, H)) for _ in range(n_states)]
    dy = rng.standard_normal((T, B, H))
    dstates = [rng.standard_normal((num_layers, B, H)) for _ in range(n_states)]

    pack = (lambda s: tuple(s)) if mode == "LSTM" else (lambda s: s[0])
    y_ref, state_ref, cache = oracle.forward(x, pack(states))
    dx_ref, dstate0_ref, grads_ref = oracle.backward(dy, cache, pack(dstates))

    leaves = [torch.tensor(a, requires_grad=True) for a in [x, *states]]
    y, state = ours(leaves[0], pack(leaves[1:]))
    state = state if mode == "LSTM" else (state,)
    loss = (y * torch.from_numpy(dy)).sum() + sum(
        (s * torch.from_numpy(d)).sum() for s, d in zip(state, dstates))
    loss.backward()

    state_ref = state_ref if mode == "LSTM" else (state_ref,)
    dstate0_ref = dstate0_ref if mode == "LSTM" else (dstate0_ref,)
    assert_close(y.detach(), torch.from_numpy(y_ref), what="y")
    for k, (s, s_ref) in enumerate(zip(state, state_ref, strict=True)):
        assert_close(s.detach(), torch.from_numpy(s_ref), what=f"final state {k}")
    assert_close(leaves[0].grad, torch.from_numpy(dx_ref), what="dx")
    for k, (leaf, d_ref) in enumerate(zip(leaves[1:], dstate0_ref, strict=True)):
        assert_close(leaf.grad, torch.from_numpy(d_ref), what=f"dstate0 {k}")
    assert set(grads_ref) == {n for n, _ in ours.named_parameters()}
    for name, p in ours.named_parameters():
        assert_close(p.grad, torch.from_numpy(grads_ref[name]), what=f"grad of {name}")


@pytest.mark.parametrize("cls,extra", [("LSTM", {}), ("GRU", {}), ("RNN", {"nonlinearity": "tanh"})])
def test_cells_match_reference_one_step(cls, extra):
    oracle = getattr(reference, cls)(I, H, 1, seed=2, **extra)
    cell = getattr(rnnkit.nn, cls + "Cell")(I, H, dtype=torch.float64, **extra)
    cell.load_state_dict({k[:-3]: torch.from_numpy(v) for k, v in oracle.state_dict().items()})
    rng = np.random.default_rng(4)
    x = rng.standard_normal((1, B, I))
    states = [rng.standard_normal((1, B, H)) for _ in range(2 if cls == "LSTM" else 1)]
    y_ref, state_ref, _ = oracle.forward(x, tuple(states) if cls == "LSTM" else states[0])
    t_states = [torch.from_numpy(s[0]) for s in states]
    out = cell(torch.from_numpy(x[0]), tuple(t_states) if cls == "LSTM" else t_states[0])
    h = out[0] if cls == "LSTM" else out
    assert_close(h, torch.from_numpy(y_ref[0]))
    if cls == "LSTM":
        assert_close(out[1], torch.from_numpy(state_ref[1][0]))

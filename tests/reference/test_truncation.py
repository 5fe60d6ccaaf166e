"""Truncated BPTT: k >= T is full BPTT; k < T matches an independent detached computation.

The independent computation uses torch autograd on torch.nn modules with the same
weights: the loss term that enters at step t is computed from the states of all layers
after step t-k, detached (or from the initial state when t-k+1 <= 0), run forward over
steps t-k+1..t. The final-state gradient enters at t = T-1.
"""
from __future__ import annotations

import numpy as np
import pytest

from tests.reference._helpers import KIND_IDS, KINDS, as_tuple, make_layer, random_state
from tests.reference.test_against_torch import max_diff, torch_twin

torch = pytest.importorskip("torch")


def _problem(kind, num_layers, rng, T=6, B=2):
    layer = make_layer(kind, num_layers=num_layers, seed=4)
    x = rng.standard_normal((T, B, 3))
    return (layer, x, random_state(layer, B, rng), rng.standard_normal((T, B, 4)),
            random_state(layer, B, rng))


@pytest.mark.parametrize("kind", KINDS, ids=KIND_IDS)
def test_truncate_at_or_beyond_T_is_full_bptt(kind, rng):
    layer, x, state, dy, dstate = _problem(kind, 2, rng)
    _, _, cache = layer.forward(x, state)
    full = layer.backward(dy, cache, dstate)
    for k in (6, 9):
        trunc = layer.backward(dy, cache, dstate, truncate=k)
        np.testing.assert_array_equal(trunc[0], full[0])
        for a, b in zip(as_tuple(trunc[1]), as_tuple(full[1]), strict=True):
            np.testing.assert_array_equal(a, b)
        for name in full[2]:
            np.testing.assert_array_equal(trunc[2][name], full[2][name])


def _detached_reference(kind, layer, x, state, dy, dstate, k):
    """Gradients of sum_t <dy_t, y_t> + <dstate, state_n>, each term through k steps only."""
    module = torch_twin(kind, layer)
    pack = (lambda s: tuple(s)) if len(as_tuple(state)) == 2 else (lambda s: s[0])
    x_t = torch.tensor(x, requires_grad=True)
    states0 = [torch.tensor(s, requires_grad=True) for s in as_tuple(state)]
    T = x.shape[0]
    loss = 0.0
    for t in range(T):
        lo = max(0, t - k + 1)
        if lo == 0:
            start = pack(states0)
        else:
            with torch.no_grad():  # the states after step lo-1: constants for this term
                _, start = module(x_t[:lo], pack(states0))
        y_w, state_w = module(x_t[lo:t + 1], start)
        loss = loss + (y_w[-1] * torch.from_numpy(dy[t])).sum()
        if t == T - 1:
            loss = loss + sum((s * torch.from_numpy(d)).sum()
                              for s, d in zip(as_tuple(state_w), as_tuple(dstate)))
    loss.backward()
    grads = {name: p.grad for name, p in module.named_parameters()}
    return x_t.grad, [s.grad for s in states0], grads


@pytest.mark.parametrize("k", [1, 2, 4])
@pytest.mark.parametrize("num_layers", [1, 2], ids=["L1", "L2"])
@pytest.mark.parametrize("kind", KINDS, ids=KIND_IDS)
def test_truncated_matches_detached_computation(kind, num_layers, k, rng):
    layer, x, state, dy, dstate = _problem(kind, num_layers, rng)
    _, _, cache = layer.forward(x, state)
    dx, dstate0, grads = layer.backward(dy, cache, dstate, truncate=k)
    want_dx, want_dstate0, want_grads = _detached_reference(kind, layer, x, state, dy, dstate, k)
    assert max_diff(dx, want_dx) < 1e-10
    for mine, theirs in zip(as_tuple(dstate0), want_dstate0, strict=True):
        # with k < T the initial state still gets the terms t <= k-1
        assert max_diff(mine, theirs) < 1e-10
    for name, g in grads.items():
        assert max_diff(g, want_grads[name]) < 1e-10, name
    full = layer.backward(dy, cache, dstate)
    assert max_diff(full[0], dx) > 1e-6  # truncation really changed something

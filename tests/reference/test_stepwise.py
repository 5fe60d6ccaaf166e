"""T single steps carrying the state equal one call over T steps: outputs and gradients."""
from __future__ import annotations

import numpy as np
import pytest

from tests.reference._helpers import KIND_IDS, KINDS, as_tuple, make_layer, random_state


@pytest.mark.parametrize("bias", [True, False], ids=["bias", "nobias"])
@pytest.mark.parametrize("kind", KINDS, ids=KIND_IDS)
def test_stepwise_equals_whole(kind, bias, rng):
    layer = make_layer(kind, num_layers=2, bias=bias, seed=2)
    T, B = 5, 3
    x = rng.standard_normal((T, B, 3))
    state0 = random_state(layer, B, rng)
    dy = rng.standard_normal((T, B, 4))
    dstate_n = random_state(layer, B, rng)

    y, state_n, cache = layer.forward(x, state0)
    dx, dstate0, grads = layer.backward(dy, cache, dstate_n)

    # Forward one step at a time, carrying the state.
    state, ys, caches = state0, [], []
    for t in range(T):
        y_t, state, cache_t = layer.forward(x[t:t + 1], state)  # (1, B, H)
        ys.append(y_t)
        caches.append(cache_t)
    np.testing.assert_allclose(np.concatenate(ys), y, rtol=0, atol=1e-14)
    for a, b in zip(as_tuple(state), as_tuple(state_n), strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-14)

    # Backward one step at a time, in reverse, carrying dstate from step t+1 to step t.
    dstate, dxs = dstate_n, []
    step_grads = layer.zero_grads()
    for t in reversed(range(T)):
        dx_t, dstate, g = layer.backward(dy[t:t + 1], caches[t], dstate)
        dxs.insert(0, dx_t)
        for name in g:
            step_grads[name] += g[name]
    np.testing.assert_allclose(np.concatenate(dxs), dx, rtol=0, atol=1e-12)
    for a, b in zip(as_tuple(dstate), as_tuple(dstate0), strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)
    assert set(step_grads) == set(grads)
    for name in grads:
        np.testing.assert_allclose(step_grads[name], grads[name], rtol=0, atol=1e-12)

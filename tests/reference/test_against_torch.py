"""Reference vs torch.nn.RNN/LSTM/GRU with copied weights, float64, forward and backward."""
from __future__ import annotations

import numpy as np
import pytest

from tests.reference._helpers import KIND_IDS, KINDS, as_tuple, make_layer, random_state

torch = pytest.importorskip("torch")

TOL = 1e-10


def torch_twin(kind, layer):
    """A torch.nn module of the same configuration, with the reference's weights copied."""
    _, _, torch_name, kwargs = kind
    module = getattr(torch.nn, torch_name)(
        layer.input_size, layer.hidden_size, num_layers=layer.num_layers, bias=layer.bias,
        dtype=torch.float64, **kwargs)
    with torch.no_grad():
        for name, value in layer.state_dict().items():
            getattr(module, name).copy_(torch.from_numpy(value))
    return module


def max_diff(a, b):
    return float(np.abs(np.asarray(a) - np.asarray(b)).max())


@pytest.mark.parametrize("bias", [True, False], ids=["bias", "nobias"])
@pytest.mark.parametrize("num_layers", [1, 2], ids=["L1", "L2"])
@pytest.mark.parametrize("kind", KINDS, ids=KIND_IDS)
def test_outputs_states_and_all_gradients_match_torch(kind, num_layers, bias, rng):
    layer = make_layer(kind, num_layers=num_layers, bias=bias, seed=5)
    module = torch_twin(kind, layer)
    T, B = 6, 3
    x = rng.standard_normal((T, B, 3))
    state = random_state(layer, B, rng)
    dy = rng.standard_normal((T, B, 4))
    dstate = random_state(layer, B, rng)

    y, state_n, cache = layer.forward(x, state)
    dx, dstate0, grads = layer.backward(dy, cache, dstate)

    x_t = torch.tensor(x, requires_grad=True)
    states_t = [torch.tensor(s, requires_grad=True) for s in as_tuple(state)]
    y_t, state_n_t = module(x_t, tuple(states_t) if len(states_t) == 2 else states_t[0])
    finals_t = as_tuple(state_n_t)
    loss = (y_t * torch.from_numpy(dy)).sum() + sum(
        (s * torch.from_numpy(d)).sum() for s, d in zip(finals_t, as_tuple(dstate)))
    loss.backward()

    assert max_diff(y, y_t.detach()) < TOL
    for mine, theirs in zip(as_tuple(state_n), finals_t, strict=True):
        assert max_diff(mine, theirs.detach()) < TOL
    assert max_diff(dx, x_t.grad) < TOL
    for mine, theirs in zip(as_tuple(dstate0), states_t, strict=True):
        assert max_diff(mine, theirs.grad) < TOL
    torch_grads = {name: p.grad for name, p in module.named_parameters()}
    assert set(grads) == set(torch_grads)
    for name, g in grads.items():
        assert max_diff(g, torch_grads[name]) < TOL, name


@pytest.mark.parametrize("kind", KINDS, ids=KIND_IDS)
def test_torch_state_dict_loads_unchanged(kind):
    layer = make_layer(kind, num_layers=2, seed=0)
    _, _, torch_name, kwargs = kind
    module = getattr(torch.nn, torch_name)(3, 4, num_layers=2, **kwargs)
    layer.load_state_dict({k: v.detach().numpy() for k, v in module.state_dict().items()})
    for name, value in module.state_dict().items():
        np.testing.assert_array_equal(layer.params[name], value.double().numpy())
    assert list(layer.state_dict()) == list(module.state_dict())  # names and their order

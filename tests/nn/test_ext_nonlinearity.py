"""nonlinearity=<any elementwise callable> on RNN and RNNCell."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

import rnnkit.nn
from rnnkit.nn import stack
from tests.nn.ext_helpers import train_losses


def rnn_by_hand(m, x, act):
    h = x.new_zeros(x.shape[1], m.hidden_size)
    ys = []
    for x_t in x:
        h = act(x_t @ m.weight_ih_l0.T + m.bias_ih_l0 + h @ m.weight_hh_l0.T + m.bias_hh_l0)
        ys.append(h)
    return torch.stack(ys)


@pytest.mark.parametrize("act", [F.gelu, lambda v: v * torch.sigmoid(v), torch.sin],
                         ids=["gelu", "lambda", "sin"])
def test_matches_the_equation(act):
    m = rnnkit.nn.RNN(3, 4, nonlinearity=act).double()
    x = torch.randn(6, 2, 3, dtype=torch.float64)
    torch.testing.assert_close(m(x)[0], rnn_by_hand(m, x, act), rtol=0, atol=1e-12)


def test_callable_tanh_equals_named_tanh(monkeypatch):
    monkeypatch.setattr(stack, "SEQUENCE_IMPL", "functional")  # the same loop, exactly
    named = rnnkit.nn.RNN(3, 4, num_layers=2, bidirectional=True, backend="rnnkit").double()
    custom = rnnkit.nn.RNN(3, 4, num_layers=2, bidirectional=True,
                           nonlinearity=torch.tanh).double()
    custom.load_state_dict(named.state_dict())
    x = torch.randn(5, 2, 3, dtype=torch.float64)
    assert torch.equal(custom(x)[0], named(x)[0])


def test_named_ones_keep_the_fast_path():
    assert rnnkit.nn.RNN(3, 4, nonlinearity="relu").torch_kernel_unsupported() is None
    custom = rnnkit.nn.RNN(3, 4, nonlinearity=F.gelu)
    assert custom.torch_kernel_unsupported() == "nonlinearity=gelu"
    assert rnnkit.nn.RNNCell(3, 4).torch_kernel_unsupported() is None


def test_gradcheck_float64():
    m = rnnkit.nn.RNN(2, 3, nonlinearity=F.gelu, bidirectional=True).double()
    x = torch.randn(4, 2, 2, dtype=torch.float64, requires_grad=True)
    names = [n for n, _ in m.named_parameters()]

    def fn(x, *params):
        return torch.func.functional_call(m, dict(zip(names, params)), (x,))[0]

    assert torch.autograd.gradcheck(fn, (x, *m.parameters()))


def test_cell_steps_equal_the_layer_and_stateful_chunks():
    layer = rnnkit.nn.RNN(3, 4, nonlinearity=F.gelu).double()
    cell = rnnkit.nn.RNNCell(3, 4, nonlinearity=F.gelu).double()
    cell.load_state_dict({k.removesuffix("_l0"): v for k, v in layer.state_dict().items()})
    x = torch.randn(6, 2, 3, dtype=torch.float64)
    h, ys = None, []
    for x_t in x:
        h = cell(x_t, h)
        ys.append(h)
    whole = layer(x)[0]
    torch.testing.assert_close(torch.stack(ys), whole, rtol=0, atol=1e-12)
    s = rnnkit.nn.RNN(3, 4, nonlinearity=F.gelu, stateful=True).double()
    s.load_state_dict(layer.state_dict())
    torch.testing.assert_close(torch.cat([s(x[:2])[0], s(x[2:])[0]]), whole, rtol=0, atol=1e-12)


def test_packed_sequence():
    m = rnnkit.nn.RNN(3, 4, nonlinearity=F.gelu).double()
    x = torch.randn(5, 2, 3, dtype=torch.float64)
    out, h_n = m(pack_padded_sequence(x, [3, 5], enforce_sorted=False))
    padded, _ = pad_packed_sequence(out)
    torch.testing.assert_close(padded[:3, :1], m(x[:3, :1])[0], rtol=0, atol=1e-12)
    torch.testing.assert_close(h_n[:, 1], m(x[:, 1:])[1][:, 0], rtol=0, atol=1e-12)


def test_errors_and_repr():
    with pytest.raises(ValueError, match=r"^Unknown nonlinearity 'swish'. Select from 'tanh' or "
                                         r"'relu'.$"):
        rnnkit.nn.RNN(3, 4, nonlinearity="swish")
    assert "nonlinearity=gelu" in repr(rnnkit.nn.RNN(3, 4, nonlinearity=F.gelu))
    with pytest.raises(RuntimeError, match=r"with nonlinearity=gelu has no torch.nn equivalent"):
        rnnkit.nn.RNNCell(3, 4, nonlinearity=F.gelu).to_torch()


@pytest.mark.slow
def test_learns_sunspots():
    first, last = train_losses(rnnkit.nn.RNN(1, 16, nonlinearity=F.gelu), steps=60)
    assert last < 0.5 * first

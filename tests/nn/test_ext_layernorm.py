"""layer_norm=True on LSTM, GRU and their cells (Ba, Kiros & Hinton 2016)."""
from __future__ import annotations

import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

import rnnkit.nn
from rnnkit.nn.extensions import runner
from tests.nn.ext_helpers import train_losses


def ln_by_hand(v, gain, bias, eps=1e-5):
    mu = v.mean(-1, keepdim=True)
    var = ((v - mu) ** 2).mean(-1, keepdim=True)
    return gain * (v - mu) / torch.sqrt(var + eps) + bias


def randomise(module):
    """Non-trivial gains and biases, so a wrong LN parameter shows."""
    with torch.no_grad():
        for name, p in module.named_parameters():
            if name.startswith("ln_"):
                p.copy_(torch.randn_like(p) * 0.5 + (1.0 if "gain" in name else 0.0))
    return module


def lstm_by_hand(m, x, suffix="_l0"):
    """The docstring's LN-LSTM equations, one step at a time."""
    P = {n: getattr(m, n + suffix) for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh",
                                             "ln_gain_ih", "ln_bias_ih", "ln_gain_hh",
                                             "ln_bias_hh", "ln_gain_c", "ln_bias_c")}
    B, H = x.shape[1], m.hidden_size
    h = c = x.new_zeros(B, H)
    ys = []
    for x_t in x:
        gates = (ln_by_hand(x_t @ P["weight_ih"].T, P["ln_gain_ih"], P["ln_bias_ih"])
                 + ln_by_hand(h @ P["weight_hh"].T, P["ln_gain_hh"], P["ln_bias_hh"])
                 + P["bias_ih"] + P["bias_hh"])
        i, f, g, o = gates.chunk(4, -1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(ln_by_hand(c, P["ln_gain_c"], P["ln_bias_c"]))
        ys.append(h)
    return torch.stack(ys)


def gru_by_hand(m, x, suffix="_l0"):
    P = {n: getattr(m, n + suffix) for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh",
                                             "ln_gain_ih", "ln_bias_ih", "ln_gain_hh",
                                             "ln_bias_hh")}
    h = x.new_zeros(x.shape[1], m.hidden_size)
    ys = []
    for x_t in x:
        a = ln_by_hand(x_t @ P["weight_ih"].T, P["ln_gain_ih"], P["ln_bias_ih"]) + P["bias_ih"]
        b = ln_by_hand(h @ P["weight_hh"].T, P["ln_gain_hh"], P["ln_bias_hh"]) + P["bias_hh"]
        (a_r, a_z, a_n), (b_r, b_z, b_n) = a.chunk(3, -1), b.chunk(3, -1)
        r, z = torch.sigmoid(a_r + b_r), torch.sigmoid(a_z + b_z)
        n = torch.tanh(a_n + r * b_n)
        h = (1 - z) * n + z * h
        ys.append(h)
    return torch.stack(ys)


@pytest.fixture(params=[True, False], ids=["fused", "autograd"])
def fused(request, monkeypatch):
    monkeypatch.setattr(runner, "USE_FUSED_LSTM", request.param)
    return request.param


def test_parameter_names_shapes_and_initialisation():
    m = rnnkit.nn.LSTM(3, 4, num_layers=2, bidirectional=True, layer_norm=True)
    shapes = {n: tuple(p.shape) for n, p in m.named_parameters() if n.startswith("ln_")}
    for k in range(2):
        for s in ("", "_reverse"):
            for stem, size in (("ih", 16), ("hh", 16), ("c", 4)):
                assert shapes.pop(f"ln_gain_{stem}_l{k}{s}") == (size,)
                assert shapes.pop(f"ln_bias_{stem}_l{k}{s}") == (size,)
    assert shapes == {}
    assert torch.equal(m.ln_gain_hh_l1_reverse, torch.ones(16))
    assert torch.equal(m.ln_bias_c_l0, torch.zeros(4))
    g = rnnkit.nn.GRUCell(3, 4, layer_norm=True)
    assert sorted(n for n, _ in g.named_parameters() if n.startswith("ln_")) == [
        "ln_bias_hh", "ln_bias_ih", "ln_gain_hh", "ln_gain_ih"]


def test_lstm_matches_the_equations(fused):
    m = randomise(rnnkit.nn.LSTM(3, 5, layer_norm=True).double())
    x = torch.randn(7, 2, 3, dtype=torch.float64)
    torch.testing.assert_close(m(x)[0], lstm_by_hand(m, x), rtol=0, atol=1e-12)


def test_gru_matches_the_equations():
    m = randomise(rnnkit.nn.GRU(3, 5, layer_norm=True).double())
    x = torch.randn(7, 2, 3, dtype=torch.float64)
    torch.testing.assert_close(m(x)[0], gru_by_hand(m, x), rtol=0, atol=1e-12)


@pytest.mark.parametrize("cls", [rnnkit.nn.LSTM, rnnkit.nn.GRU])
def test_gradcheck_float64(cls, fused):
    if cls is rnnkit.nn.GRU and fused:
        pytest.skip("the GRU has no fused path")
    m = randomise(cls(2, 2, bidirectional=True, layer_norm=True).double())
    x = torch.randn(2, 2, 2, dtype=torch.float64, requires_grad=True)
    names = [n for n, _ in m.named_parameters()]

    def fn(x, *params):
        out = torch.func.functional_call(m, dict(zip(names, params)), (x,))
        return out[0]

    # fast_mode checks a random projection of the Jacobian: the same test, far fewer calls
    assert torch.autograd.gradcheck(fn, (x, *m.parameters()), fast_mode=True)


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_cell_steps_equal_the_layer(kind):
    layer = randomise(getattr(rnnkit.nn, kind)(3, 4, layer_norm=True).double())
    cell = getattr(rnnkit.nn, kind + "Cell")(3, 4, layer_norm=True).double()
    cell.load_state_dict({k.removesuffix("_l0"): v for k, v in layer.state_dict().items()})
    x = torch.randn(6, 2, 3, dtype=torch.float64)
    state = None
    ys = []
    for x_t in x:
        state = cell(x_t, state)
        ys.append(state[0] if kind == "LSTM" else state)
    torch.testing.assert_close(torch.stack(ys), layer(x)[0], rtol=0, atol=1e-12)


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_stateful_chunks_equal_the_whole_sequence(kind):
    m = randomise(getattr(rnnkit.nn, kind)(3, 4, num_layers=2, layer_norm=True).double())
    x = torch.randn(9, 2, 3, dtype=torch.float64)
    whole = m(x)[0]
    m.stateful = True
    from rnnkit.nn.extensions.stateful import attach_stateful
    attach_stateful(m)
    parts = [m(x[:4])[0], m(x[4:])[0]]
    torch.testing.assert_close(torch.cat(parts), whole, rtol=0, atol=1e-12)


def test_packed_sequence_equals_each_sequence_alone():
    m = randomise(rnnkit.nn.LSTM(3, 4, layer_norm=True, bidirectional=True).double())
    x = torch.randn(6, 3, 3, dtype=torch.float64)
    lengths = [4, 6, 2]
    out, (h_n, _) = m(pack_padded_sequence(x, lengths, enforce_sorted=False))
    padded, _ = pad_packed_sequence(out)
    for b, n in enumerate(lengths):
        y_b, (h_b, _) = m(x[:n, b:b + 1])
        torch.testing.assert_close(padded[:n, b:b + 1], y_b, rtol=0, atol=1e-12)
        torch.testing.assert_close(h_n[:, b:b + 1], h_b, rtol=0, atol=1e-12)


@pytest.mark.parametrize("cls", [rnnkit.nn.LSTM, rnnkit.nn.GRU])
def test_layer_norm_false_is_the_plain_layer(cls):
    plain = cls(3, 4, num_layers=2)
    neutral = cls(3, 4, num_layers=2, layer_norm=False, recurrent_dropout=0.0, zoneout=0.0)
    neutral.load_state_dict(plain.state_dict())
    x = torch.randn(5, 2, 3)
    assert torch.equal(neutral(x)[0], plain(x)[0])
    assert neutral.torch_kernel_unsupported() is None


def test_errors():
    with pytest.raises(ValueError, match=r"^layer_norm must be True or False, got 1$"):
        rnnkit.nn.LSTM(3, 4, layer_norm=1)
    with pytest.raises(ValueError, match=r"^layer_norm=True does not support proj_size > 0, "
                                         r"got proj_size=2$"):
        rnnkit.nn.LSTM(3, 4, proj_size=2, layer_norm=True)
    with pytest.raises(RuntimeError, match=r"with layer_norm=True has no torch.nn equivalent"):
        rnnkit.nn.LSTMCell(3, 4, layer_norm=True).to_torch()


@pytest.mark.slow
@pytest.mark.parametrize("cls", [rnnkit.nn.LSTM, rnnkit.nn.GRU])
def test_learns_sunspots(cls):
    first, last = train_losses(cls(1, 16, layer_norm=True), steps=60)
    assert last < 0.5 * first

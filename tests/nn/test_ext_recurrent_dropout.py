"""recurrent_dropout=p (Gal & Ghahramani 2016): one mask per sequence, unbiased."""
from __future__ import annotations

import pytest
import torch

import rnnkit.nn
from tests.nn.ext_helpers import train_losses


def identity(v):
    return v


def product_rnn(p, H=4):
    """h_t = d ⊙ h_{t−1}: W_hh = I, no input, identity nonlinearity, so h_T = d^T ⊙ h_0."""
    m = rnnkit.nn.RNN(1, H, nonlinearity=identity, bias=False, recurrent_dropout=p).double()
    with torch.no_grad():
        m.weight_ih_l0.zero_()
        m.weight_hh_l0.copy_(torch.eye(H))
    return m


def test_mask_is_constant_over_time():
    p, T, B, H = 0.3, 6, 5000, 4
    m = product_rnn(p, H)
    y = m(torch.zeros(T, B, 1, dtype=torch.float64), torch.ones(1, B, H, dtype=torch.float64))[0]
    alive = y[-1] != 0
    # one mask for the whole sequence: a unit survives with probability 1 − p (not (1 − p)^T)
    rate = alive.double().mean().item()
    assert abs(rate - (1 - p)) < 4 * (p * (1 - p) / alive.numel()) ** 0.5
    # and a surviving unit was scaled by the same 1/(1 − p) at every step
    scale = torch.tensor([(1 / (1 - p)) ** (t + 1) for t in range(T)], dtype=torch.float64)
    torch.testing.assert_close(y[:, alive], scale[:, None].expand(T, int(alive.sum())),
                               rtol=1e-12, atol=0)
    # units dropped at step 1 stay dropped: the zero pattern never changes
    assert torch.equal(y[0] != 0, alive)


def test_expected_value_is_kept():
    p, B, H = 0.4, 20000, 4
    m = product_rnn(p, H)
    y = m(torch.zeros(1, B, 1, dtype=torch.float64), torch.ones(1, B, H, dtype=torch.float64))[0]
    std = (p / (1 - p)) ** 0.5  # of d = Bernoulli(1 − p) / (1 − p)
    assert abs(y.mean().item() - 1.0) < 4 * std / (B * H) ** 0.5


def test_eval_is_the_plain_layer():
    plain = rnnkit.nn.LSTM(3, 4)
    dropped = rnnkit.nn.LSTM(3, 4, recurrent_dropout=0.5)
    dropped.load_state_dict(plain.state_dict())
    x = torch.randn(5, 2, 3)
    torch.testing.assert_close(dropped.eval()(x)[0], plain(x)[0], rtol=0, atol=1e-6)
    assert not torch.allclose(dropped.train()(x)[0], plain(x)[0])


def test_gru_keeps_the_undropped_state_in_the_update():
    """h_t = (1 − z) n + z h_{t−1} uses h_{t−1}, not d ⊙ h_{t−1}: with W = 0, z = σ(0)."""
    m = rnnkit.nn.GRU(1, 3, bias=False, recurrent_dropout=0.9).double()
    with torch.no_grad():
        m.weight_ih_l0.zero_()
        m.weight_hh_l0.zero_()
    h0 = torch.ones(1, 2, 3, dtype=torch.float64)
    y = m(torch.zeros(1, 2, 1, dtype=torch.float64), h0)[0]
    torch.testing.assert_close(y, torch.full_like(y, 0.5), rtol=0, atol=1e-15)  # n = 0


@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN"])
def test_gradcheck_float64_training_mask(kind):
    m = getattr(rnnkit.nn, kind)(2, 2, recurrent_dropout=0.3).double()
    x = torch.randn(3, 2, 2, dtype=torch.float64, requires_grad=True)
    names = [n for n, _ in m.named_parameters()]

    def fn(x, *params):
        torch.manual_seed(7)
        return torch.func.functional_call(m, dict(zip(names, params)), (x,))[0]

    assert torch.autograd.gradcheck(fn, (x, *m.parameters()))


@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN"])
def test_zero_is_the_plain_layer(kind):
    plain = getattr(rnnkit.nn, kind)(3, 4)
    neutral = getattr(rnnkit.nn, kind)(3, 4, recurrent_dropout=0.0)
    neutral.load_state_dict(plain.state_dict())
    x = torch.randn(5, 2, 3)
    assert torch.equal(neutral(x)[0], plain(x)[0])


def test_stateful_eval_chunks_equal_whole():
    m = rnnkit.nn.LSTM(3, 4, recurrent_dropout=0.3, stateful=True).double().eval()
    x = torch.randn(8, 2, 3, dtype=torch.float64)
    parts = torch.cat([m(x[:5])[0], m(x[5:])[0]])
    m.reset_state()
    torch.testing.assert_close(parts, m(x)[0], rtol=0, atol=1e-12)


def test_errors():
    with pytest.raises(ValueError, match=r"^recurrent_dropout must be a number in \[0, 1\), "
                                         r"got -0.1$"):
        rnnkit.nn.LSTM(3, 4, recurrent_dropout=-0.1)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_learns_sunspots(kind):
    first, last = train_losses(getattr(rnnkit.nn, kind)(1, 16, recurrent_dropout=0.1), steps=60)
    assert last < 0.5 * first

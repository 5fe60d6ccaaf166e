"""zoneout=p (Krueger et al. 2017): expected value, fresh masks per step, gradients."""
from __future__ import annotations

import pytest
import torch

import rnnkit.nn
from tests.nn.ext_helpers import train_losses


def identity(v):
    return v


def counting_rnn(p, H=2):
    """h̃_t = x_t exactly (W_ih = I, W_hh = 0, no bias, identity nonlinearity)."""
    m = rnnkit.nn.RNN(H, H, nonlinearity=identity, bias=False, zoneout=p).double()
    with torch.no_grad():
        m.weight_ih_l0.copy_(torch.eye(H))
        m.weight_hh_l0.zero_()
    return m


def counting_input(T, B, H=2):
    return torch.arange(1, T + 1, dtype=torch.float64)[:, None, None].expand(T, B, H).clone()


def test_eval_uses_the_expectation():
    p, T = 0.3, 5
    m = counting_rnn(p).eval()
    x = counting_input(T, 1)
    h, expected = 0.0, []
    for t in range(T):
        h = p * h + (1 - p) * (t + 1)
        expected.append(h)
    torch.testing.assert_close(m(x)[0][:, 0, 0], torch.tensor(expected, dtype=torch.float64),
                               rtol=0, atol=1e-12)


def test_training_mean_equals_eval_output():
    """E[h_t] under random masks is the eval recursion (the model is linear here)."""
    p, T, B = 0.4, 6, 20000
    m = counting_rnn(p)
    x = counting_input(T, B)
    train_mean = m(x)[0].mean(dim=(1, 2))  # (T,)
    m.eval()
    expected = m(x)[0][:, 0, 0]
    # each h_t is bounded by T, so the std of a mean over 2B samples is < T / sqrt(2B)
    assert (train_mean - expected).abs().max().item() < 4 * T / (2 * B) ** 0.5


def test_masks_are_fresh_each_step_with_rate_p():
    p, T, B = 0.3, 4, 20000
    m = counting_rnn(p)
    h = m(counting_input(T, B))[0]  # (T, B, 2)
    kept = torch.stack([h[t] != t + 1 for t in range(1, T)])  # unit kept its previous value
    n = kept[0].numel()
    rate = kept.double().mean().item()
    both = (kept[0] & kept[1]).double().mean().item()
    assert abs(rate - p) < 4 * (p * (1 - p) / (3 * n)) ** 0.5
    assert abs(both - p * p) < 4 * (p * p * (1 - p * p) / n) ** 0.5  # independent in time


def test_lstm_zones_out_h_and_c_with_separate_masks():
    torch.manual_seed(0)
    m = rnnkit.nn.LSTM(2, 64, zoneout=0.5, stateful=True).double()
    x = torch.randn(2, 8, 2, dtype=torch.float64)
    _, (h1, c1) = m(x[:1])
    _, (h2, c2) = m(x[1:])  # starts from (h1, c1)
    h_kept, c_kept = (h2 == h1), (c2 == c1)
    assert 0.4 < h_kept.double().mean().item() < 0.6
    assert 0.4 < c_kept.double().mean().item() < 0.6
    assert not torch.equal(h_kept, c_kept)  # two masks, not one


@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN"])
def test_gradcheck_float64_training_masks(kind):
    m = getattr(rnnkit.nn, kind)(2, 2, zoneout=0.3).double()
    x = torch.randn(3, 2, 2, dtype=torch.float64, requires_grad=True)
    names = [n for n, _ in m.named_parameters()]

    def fn(x, *params):
        torch.manual_seed(7)  # the same masks at every evaluation
        return torch.func.functional_call(m, dict(zip(names, params)), (x,))[0]

    assert torch.autograd.gradcheck(fn, (x, *m.parameters()))


@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN"])
def test_zero_is_the_plain_layer(kind):
    plain = getattr(rnnkit.nn, kind)(3, 4)
    neutral = getattr(rnnkit.nn, kind)(3, 4, zoneout=0.0)
    neutral.load_state_dict(plain.state_dict())
    x = torch.randn(5, 2, 3)
    assert torch.equal(neutral(x)[0], plain(x)[0])


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_stateful_eval_chunks_equal_whole(kind):
    m = getattr(rnnkit.nn, kind)(3, 4, zoneout=0.25).double().eval()
    x = torch.randn(8, 2, 3, dtype=torch.float64)
    whole = m(x)[0]
    s = getattr(rnnkit.nn, kind)(3, 4, zoneout=0.25, stateful=True).double().eval()
    s.load_state_dict(m.state_dict())
    torch.testing.assert_close(torch.cat([s(x[:3])[0], s(x[3:])[0]]), whole, rtol=0, atol=1e-12)


def test_errors():
    with pytest.raises(ValueError, match=r"^zoneout must be a number in \[0, 1\), got 1.5$"):
        rnnkit.nn.GRU(3, 4, zoneout=1.5)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_learns_sunspots(kind):
    first, last = train_losses(getattr(rnnkit.nn, kind)(1, 16, zoneout=0.1), steps=60)
    assert last < 0.5 * first

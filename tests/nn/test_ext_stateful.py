"""stateful=True: the final state carries over (detached); reset_state(); batch checks."""
from __future__ import annotations

import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence

import rnnkit.nn
from rnnkit.errors import RnnkitError

KINDS = ["LSTM", "GRU", "RNN"]


def twins(kind, **kw):
    plain = getattr(rnnkit.nn, kind)(3, 4, num_layers=2, **kw).double()
    stateful = getattr(rnnkit.nn, kind)(3, 4, num_layers=2, stateful=True, **kw).double()
    stateful.load_state_dict(plain.state_dict())
    return plain, stateful


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("batch_first", [False, True])
def test_chunks_equal_the_whole_sequence(kind, batch_first):
    plain, stateful = twins(kind, batch_first=batch_first)
    x = torch.randn(2, 9, 3, dtype=torch.float64) if batch_first else \
        torch.randn(9, 2, 3, dtype=torch.float64)
    whole, h_whole = plain(x)
    chunks = x.split(4, dim=1 if batch_first else 0)
    outs = [stateful(c)[0] for c in chunks]
    torch.testing.assert_close(torch.cat(outs, dim=1 if batch_first else 0), whole,
                               rtol=0, atol=1e-12)
    carried = stateful._carried_state
    expected = h_whole if isinstance(h_whole, tuple) else (h_whole,)
    for a, b in zip(carried, expected):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-12)


def test_carried_state_is_detached():
    _, m = twins("LSTM")
    x = torch.randn(4, 2, 3, dtype=torch.float64, requires_grad=True)
    m(x)
    y2 = m(torch.randn(4, 2, 3, dtype=torch.float64))[0]
    assert all(not s.requires_grad for s in m._carried_state)
    y2.sum().backward()
    assert x.grad is None  # the second chunk's loss does not reach the first chunk


def test_reset_state_and_explicit_hx():
    plain, m = twins("GRU")
    x = torch.randn(3, 2, 3, dtype=torch.float64)
    first = m(x)[0]
    assert not torch.equal(m(x)[0], first)  # starts from the carried state
    m.reset_state()
    assert torch.equal(m(x)[0], first)  # zeros again
    h0 = torch.randn(2, 2, 4, dtype=torch.float64)
    assert torch.equal(m(x, h0)[0], plain(x, h0)[0])  # an explicit hx wins


def test_batch_size_change_is_a_clear_error():
    _, m = twins("LSTM")
    m(torch.randn(3, 2, 3, dtype=torch.float64))
    with pytest.raises(RnnkitError, match=r"^LSTM\(stateful=True\): the batch size changed from "
                                          r"2 to 5 between calls; call reset_state\(\) before "
                                          r"feeding a different batch$"):
        m(torch.randn(3, 5, 3, dtype=torch.float64))
    m.reset_state()
    assert m(torch.randn(3, 5, 3, dtype=torch.float64))[0].shape == (3, 5, 4)


def test_packed_input_carries_in_original_order():
    plain, m = twins("GRU")
    x = torch.randn(5, 3, 3, dtype=torch.float64)
    lengths = [2, 5, 3]
    m(pack_padded_sequence(x, lengths, enforce_sorted=False))
    _, h_plain = plain(pack_padded_sequence(x, lengths, enforce_sorted=False))
    torch.testing.assert_close(m._carried_state[0], h_plain, rtol=0, atol=0)


def test_not_in_state_dict_and_repr():
    _, m = twins("RNN")
    m(torch.randn(2, 2, 3, dtype=torch.float64))
    assert all(not k.startswith("_carried") for k in m.state_dict())
    assert "stateful=True" in repr(m)
    with pytest.raises(ValueError, match=r"^stateful must be True or False, got 'yes'$"):
        rnnkit.nn.GRU(3, 4, stateful="yes")


@pytest.mark.slow
def test_truncated_bptt_over_a_stream_learns():
    """A stateful LSTM fed the sunspot series in chunks of 20 years learns to predict it."""
    from tests.nn.ext_helpers import sunspot_series
    torch.manual_seed(0)
    series = sunspot_series()  # (N,)
    x, y = series[:-1, None, None], series[1:, None, None]  # (N, 1, 1): one long stream
    m = rnnkit.nn.LSTM(1, 16, stateful=True)
    head = torch.nn.Linear(16, 1)
    opt = torch.optim.Adam(list(m.parameters()) + list(head.parameters()), lr=1e-2)
    epoch_losses = []
    for _ in range(15):
        m.reset_state()
        total = 0.0
        for xc, yc in zip(x.split(20), y.split(20)):
            loss = torch.nn.functional.mse_loss(head(m(xc)[0]), yc)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item()
        epoch_losses.append(total)
    assert epoch_losses[-1] < 0.5 * epoch_losses[0]

"""The hybrid's order-free summary branch: masked quantiles equal numpy's on each series alone,
padding never enters them, gradients reach the input, and summary=0 is the network as before."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.nn.utils.rnn import pad_sequence

from rnnkit.errors import ConfigError
from rnnkit.models.lstm_fcn import LSTMFCN
from rnnkit.models.summary import SummaryBranch, masked_quantiles
from tests.models.helpers import assert_each_alone_equals_its_row

SMALL = dict(filters=(4, 6, 4), kernels=(5, 3, 3), hidden_size=5, dropout=0.0)


def _batch(lengths, features=2, seed=0, junk=7.0):
    g = torch.Generator().manual_seed(seed)
    seqs = [torch.randn(t, features, generator=g, dtype=torch.float64) for t in lengths]
    x = pad_sequence(seqs, batch_first=True, padding_value=junk)     # (B, T, F), junk in the pads
    return seqs, x, torch.tensor(lengths)


@pytest.mark.parametrize("levels", [2, 5, 16])
def test_masked_quantiles_equal_numpys_on_each_series_alone(levels):
    seqs, x, lengths = _batch([9, 1, 4, 13, 2], features=3)
    q = torch.linspace(0, 1, levels, dtype=torch.float64)
    got = masked_quantiles(x, lengths, q)                             # (B, F, K)
    assert got.shape == (5, 3, levels)
    for b, s in enumerate(seqs):
        want = np.quantile(s.numpy(), q.numpy(), axis=0).T            # (F, K)
        np.testing.assert_allclose(got[b].numpy(), want, rtol=1e-12, atol=1e-12)


def test_the_branch_reads_the_quantiles_of_values_and_of_first_differences():
    seqs, x, lengths = _batch([6, 1, 11], features=2)
    branch = SummaryBranch(2, 4).double()
    seen = {}
    branch.norm.register_forward_hook(lambda mod, inp, out: seen.update(z=inp[0].squeeze(2)))
    branch.eval()
    branch(x, lengths)
    q = np.linspace(0, 1, 4)
    for b, s in enumerate(seqs):
        s = s.numpy()
        d = np.diff(s, axis=0) if len(s) > 1 else np.zeros((1, 2))   # one step: no difference, 0
        want = np.concatenate([np.quantile(s, q, axis=0).T, np.quantile(d, q, axis=0).T]).reshape(-1)
        np.testing.assert_allclose(seen["z"][b].numpy(), want, rtol=1e-12, atol=1e-12)


def test_a_padded_batch_gives_each_series_its_logits_alone_with_the_summary():
    torch.manual_seed(0)
    model = LSTMFCN(2, 3, summary=8, rnn_steps=3, conv_steps=5, **SMALL)
    seqs, x, lengths = _batch([9, 4, 7, 1], features=2)
    seqs, x = [s.float() for s in seqs], x.float()
    model.train()
    for _ in range(3):
        model(x, lengths)
    model.eval()
    batch = model(x, lengths)
    assert_each_alone_equals_its_row(model, seqs, batch)


def test_gradients_reach_the_input_and_the_branch():
    torch.manual_seed(0)
    model = LSTMFCN(1, 3, summary=6, **SMALL)
    _, x, lengths = _batch([12, 5, 8], features=1)
    x = x.float().requires_grad_(True)
    model.train()
    model(x, lengths).sum().backward()
    branch = model.members[0].summary
    assert branch.proj.weight.grad is not None and branch.proj.weight.grad.abs().sum() > 0
    assert branch.norm.weight.grad.abs().sum() > 0
    assert x.grad[0, :12].abs().sum() > 0 and torch.isfinite(x.grad).all()
    assert x.grad[1, 5:].abs().sum() == 0                             # padding takes no gradient


def test_summary_zero_is_the_network_without_the_branch_bit_for_bit():
    _, x, lengths = _batch([9, 4, 7], features=2)
    x = x.float()
    torch.manual_seed(3)
    before = LSTMFCN(2, 3, **SMALL)                                   # as built before the option
    torch.manual_seed(3)
    off = LSTMFCN(2, 3, summary=0, **SMALL)
    torch.manual_seed(3)
    on = LSTMFCN(2, 3, summary=4, **SMALL)
    assert not any("summary" in k for k in off.state_dict())
    assert any("summary" in k for k in on.state_dict())
    assert off.state_dict().keys() == before.state_dict().keys()
    for a, b in zip(before.state_dict().values(), off.state_dict().values()):
        assert torch.equal(a, b)
    before.eval(), off.eval()
    assert torch.equal(before(x, lengths), off(x, lengths))
    assert on.members[0].head.in_features == before.members[0].head.in_features + 64


@pytest.mark.parametrize("bad", [1, -2, 2.5, True, "8"])
def test_a_bad_summary_is_a_one_line_config_error(bad):
    with pytest.raises(ConfigError, match="summary must be 0"):
        LSTMFCN(1, 2, summary=bad, **SMALL)


def test_summary_member_is_one_more_ensemble_member_and_padding_free():
    torch.manual_seed(0)
    model = LSTMFCN(2, 3, summary=5, summary_member=True, rnn_steps=3, **SMALL)
    assert model.members[0].summary is None                           # not concatenated in the hybrid
    seqs, x, lengths = _batch([9, 4, 1], features=2)
    seqs, x = [s.float() for s in seqs], x.float()
    model.train()
    logits = model.member_logits(x, lengths)
    assert len(logits) == 2 and all(z.shape == (3, 3) for z in logits)
    loss = model.compute_loss({"x": x, "y": torch.tensor([0, 1, 2]), "lengths": lengths})
    loss.backward()
    assert model.summary_head.weight.grad.abs().sum() > 0
    model.eval()
    batch = model(x, lengths)
    assert_each_alone_equals_its_row(model, seqs, batch)
    with pytest.raises(ConfigError, match="summary_member needs summary >= 2"):
        LSTMFCN(2, 3, summary_member=True, **SMALL)


def test_ppv_pooling_widens_the_conv_features_and_ignores_padding():
    torch.manual_seed(0)
    model = LSTMFCN(2, 3, pooling_conv="mean+ppv", rnn_steps=3, **SMALL)
    assert model.members[0].head.in_features == 4 + 5 + 4              # [g ; p] + the last state
    seqs, x, lengths = _batch([9, 4, 1], features=2)
    seqs, x = [s.float() for s in seqs], x.float()
    model.train()
    model(x, lengths).sum().backward()
    assert model.members[0].norms[-1].weight.grad.abs().sum() > 0
    model.eval()
    feats = model.members[0].conv_features(x * (torch.arange(x.shape[1])[None, :, None] < lengths[:, None, None]),
                                           lengths)
    assert feats.shape == (3, 8) and bool(((feats[:, 4:] >= 0) & (feats[:, 4:] <= 1)).all())
    batch = model(x, lengths)
    assert_each_alone_equals_its_row(model, seqs, batch)
    with pytest.raises(ConfigError, match="pooling_conv must be 'mean' or 'mean\\+ppv'"):
        LSTMFCN(2, 3, pooling_conv="max", **SMALL)

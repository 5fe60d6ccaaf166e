"""LSTMFCN(deltas=True): both branches read the standardised series and its step differences; the
networks' boolean flags."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from rnnkit.errors import ConfigError
from rnnkit.models.classifier import SequenceClassifier
from rnnkit.models.lstm_fcn import LSTMFCN, step_deltas
from tests.models.helpers import assert_each_alone_equals_its_row, padded_with_junk, random_sequences, settle

SMALL = dict(filters=(4, 6, 4), kernels=(5, 3, 3), hidden_size=5, dropout=0.0)


def test_step_deltas_are_each_sequences_differences_and_zero_elsewhere():
    seqs = random_sequences([4, 1, 3], 2)
    x, lengths = padded_with_junk(seqs, extra=2)
    valid = (torch.arange(x.shape[1])[None, :] < lengths[:, None]).to(x.dtype)[:, :, None]
    d = step_deltas(x * valid, valid)                                           # (B, T, F)
    for b, s in enumerate(seqs):
        expected = torch.zeros(x.shape[1], 2)
        for t in range(1, len(s)):  # worked out step by step
            expected[t] = s[t] - s[t - 1]
        torch.testing.assert_close(d[b], expected)


@pytest.mark.parametrize("features, rnn_steps, conv_steps, summary", [(1, 64, 512, 0), (3, 3, 5, 4)])
def test_with_deltas_each_sequence_alone_equals_its_row_of_a_padded_batch(features, rnn_steps, conv_steps, summary):
    torch.manual_seed(0)
    model = LSTMFCN(features, 3, deltas=True, rnn_steps=rnn_steps, conv_steps=conv_steps, summary=summary,
                    bidirectional=True, pooling="mean", **SMALL)
    seqs = random_sequences([9, 4, 7, 1], features)
    settle(model, seqs)
    assert_each_alone_equals_its_row(model, seqs, model(*padded_with_junk(seqs, extra=5)))


def test_deltas_is_the_plain_network_fed_the_series_and_its_differences():
    """Same weights: LSTMFCN(F, deltas=True) on z equals LSTMFCN(2F) on [z_t ; z_t - z_{t-1}]."""
    torch.manual_seed(0)
    mean, std = [0.5, -1.0, 2.0], [2.0, 1.0, 0.5]
    with_deltas = LSTMFCN(3, 4, deltas=True, input_mean=mean, input_std=std, **SMALL).eval()
    plain = LSTMFCN(6, 4, **SMALL).eval()
    state = {k: v for k, v in with_deltas.state_dict().items() if not k.startswith("input_")}
    plain.load_state_dict(state, strict=False)
    for s in random_sequences([6, 2], 3, seed=1):
        z = (s - torch.tensor(mean)) / torch.tensor(std)                          # (T, 3)
        wide = torch.cat([z, torch.cat([torch.zeros(1, 3), z[1:] - z[:-1]])], dim=1)  # (T, 6)
        torch.testing.assert_close(with_deltas(s[None], torch.tensor([len(s)])),
                                   plain(wide[None], torch.tensor([len(s)])))


@pytest.mark.parametrize("network", [LSTMFCN, SequenceClassifier])
@pytest.mark.parametrize("flag", ["deltas", "bidirectional"])
def test_both_networks_take_their_flags_as_booleans_only(network, flag):
    """The string "false" of a hand-written config would read as true through bool()."""
    kwargs = SMALL if network is LSTMFCN else dict(hidden_size=5)
    with pytest.raises(ConfigError, match=rf"^model {flag} must be true or false, got 'false'$"):
        network(2, 3, **{flag: "false"}, **kwargs)
    with pytest.raises(ConfigError, match=rf"^model {flag} must be true or false, got 0$"):
        network(2, 3, **{flag: 0}, **kwargs)
    model = network(2, 3, **{flag: np.bool_(False)}, **kwargs)  # numpy's bool, as a grid search may pass
    if flag == "deltas":
        assert model.deltas is False
    else:
        assert not any(name.endswith("_reverse") for name, _ in model.named_parameters())

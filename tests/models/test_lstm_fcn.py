"""LSTMFCN: shapes, masking, and padding that never changes a sequence's result."""
from __future__ import annotations

import copy
import re

import pytest
import torch
from torch.nn.utils.rnn import pack_sequence

from rnnkit.errors import ConfigError
from rnnkit.models.lstm_fcn import LSTMFCN, MaskedBatchNorm1d, _window_mean
from tests.models.helpers import padded_with_junk, random_sequences

SMALL = dict(filters=(4, 6, 4), kernels=(5, 3, 3), hidden_size=5, dropout=0.0)


@pytest.mark.parametrize("features, members, steps, pooling, bidirectional, layers, dilations",
                         [(1, 1, 64, "last", False, 1, None), (3, 2, 3, "mean", True, 1, None),
                          (1, 1, 4, "last", True, 2, None), (2, 1, 2, "last", True, 1, None),
                          (2, 1, 3, "attention", False, 1, None), (1, 1, 64, "last", False, 1, (1, 2, 4)),
                          (2, 2, 3, "mean", True, 1, (2, 3, 1))])
def test_each_sequence_alone_equals_its_row_of_a_padded_batch(features, members, steps, pooling, bidirectional, layers,
                                                              dilations):
    torch.manual_seed(0)
    model = LSTMFCN(features, 3, members=members, rnn_steps=steps, pooling=pooling,
                    bidirectional=bidirectional, num_layers=layers, dilations=dilations,
                    conv_steps=5 if members == 2 else 512, **SMALL)
    model.train()
    seqs = random_sequences([9, 4, 7, 1], features)
    for _ in range(3):  # move the running statistics away from 0 / 1
        model(*padded_with_junk(seqs))
    model.eval()
    batch = model(*padded_with_junk(seqs, extra=5))                           # (B, C)
    assert batch.shape == (4, 3)
    for i, s in enumerate(seqs):
        alone = model(s[None], torch.tensor([len(s)]))
        torch.testing.assert_close(batch[i:i + 1], alone, rtol=1e-5, atol=1e-5)


def test_packed_equals_padded_and_training_statistics_ignore_padding():
    torch.manual_seed(0)
    model = LSTMFCN(2, 4, rnn_steps=3, **SMALL)
    seqs = random_sequences([6, 3, 5])
    twin = copy.deepcopy(model)
    model.train(), twin.train()
    short = model(*padded_with_junk(seqs))
    long = twin(*padded_with_junk(seqs, extra=4))         # more padding: the same batch statistics
    torch.testing.assert_close(short, long)
    for (name, a), b in zip(model.state_dict().items(), twin.state_dict().values()):
        torch.testing.assert_close(a, b, msg=name)  # running statistics moved the same way
    model.eval()
    packed = model(pack_sequence(seqs, enforce_sorted=False))
    torch.testing.assert_close(packed, model(*padded_with_junk(seqs)))


def test_masked_batch_norm_uses_only_valid_steps():
    norm = MaskedBatchNorm1d(1)
    x = torch.tensor([[[1.0, 3.0, 100.0]], [[5.0, -50.0, 0.0]]])    # (B=2, N=1, T=3)
    mask = torch.tensor([[[1.0, 1.0, 0.0]], [[1.0, 0.0, 0.0]]])
    y = norm(x, mask)
    valid = torch.tensor([1.0, 3.0, 5.0])
    expected = (valid - valid.mean()) / torch.sqrt(valid.var(unbiased=False) + 1e-5)
    torch.testing.assert_close(y[mask.bool()], expected)
    assert torch.all(y[~mask.bool()] == 0)
    torch.testing.assert_close(norm.running_mean, torch.tensor([0.1 * 3.0]))


def test_window_mean_strides_by_each_sequences_own_length():
    x = torch.arange(1.0, 8.0).reshape(1, 7, 1).repeat(2, 1, 1)        # (2, 7, 1)
    v, lengths = _window_mean(x, torch.tensor([5, 2]), 3)              # strides 2 and 1
    assert lengths.tolist() == [3, 2]
    assert v[0, :3, 0].tolist() == [1.5, 3.5, 5.0]                       # the last window: what is left
    assert v[1, :2, 0].tolist() == [1.0, 2.0]


def test_squeeze_excite_on_for_multivariate_only_and_losses_sum_over_members():
    assert not LSTMFCN(1, 2, **SMALL).squeeze_excite
    assert LSTMFCN(3, 2, **SMALL).squeeze_excite
    model = LSTMFCN(2, 3, members=3, **SMALL)
    x, lengths = padded_with_junk(random_sequences([4, 6]))
    y = torch.tensor([0, 2])
    each = [torch.nn.functional.cross_entropy(z, y) for z in model.member_logits(x, lengths)]
    torch.manual_seed(1)
    torch.testing.assert_close(model.compute_loss({"x": x, "y": y, "lengths": lengths}), sum(each))
    weighted = LSTMFCN(2, 3, class_weights=[1.0, 0.0, 3.0], **SMALL)
    z = weighted.member_logits(x, lengths)[0]
    expected = torch.nn.functional.cross_entropy(z, y, weight=torch.tensor([1.0, 0.0, 3.0]))
    torch.testing.assert_close(weighted.compute_loss({"x": x, "y": y, "lengths": lengths}), expected)
    proba = model.predict_proba(x, lengths)
    torch.testing.assert_close(proba.sum(dim=1), torch.ones(2))


@pytest.mark.parametrize("kwargs, message", [
    (dict(pooling="max"), "model pooling must be one of last, mean, attention, got 'max'"),
    (dict(filters=(4, 4), kernels=(3,)), "model filters, kernels and dilations must be non-empty and as long as each other"),
    (dict(dilations=(1, 2)), "model filters, kernels and dilations must be non-empty and as long as each other, "
                             "got [4, 6, 4], [5, 3, 3] and [1, 2]"),
    (dict(dilations=(1, 0, 2)), "model dilations must be >= 1, got 0"),
    (dict(rnn_steps=0), "model rnn_steps must be >= 1, got 0"),
    (dict(cell="tcn"), "model cell must be one of lstm, gru, rnn, got 'tcn'"),
])
def test_bad_options_are_one_line_errors(kwargs, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        LSTMFCN(2, 3, **{**SMALL, **kwargs})


def test_dilation_spreads_the_taps():
    """A dilated convolution reads x[t + d j]: with dilation 4 and kernel 3, conv 1 of the
    model equals torch's conv1d with those taps, zero "same" padding (4 each side)."""
    model = LSTMFCN(1, 2, filters=(3,), kernels=(3,), dilations=(4,), hidden_size=2)
    conv = model.members[0].convs[0]
    x = torch.randn(1, 1, 20)
    padded = torch.nn.functional.pad(x, (4, 4))
    expected = sum(conv.weight[None, :, 0, j, None] * padded[:, :, 4 * j:4 * j + 20]  # (1, 3, 20)
                   for j in range(3)) + conv.bias[None, :, None]
    torch.testing.assert_close(conv(x), expected)

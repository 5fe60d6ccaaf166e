"""LSTMFCN(input_norm=...): how the members read the input. "utterance" is each sequence's own
normalisation over its steps (audio.normalize's formula); a list gives each member its own, and
such an ensemble is exactly the mean of single-member networks with the same weights."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from rnnkit.data.audio import normalize_utterance
from rnnkit.errors import ConfigError
from rnnkit.models.lstm_fcn import LSTMFCN, member_inputs, utterance_norm
from tests.models.helpers import assert_each_alone_equals_its_row, padded_with_junk, random_sequences, settle

SMALL = dict(filters=(4, 6, 4), kernels=(5, 3, 3), hidden_size=5, dropout=0.0)


def test_utterance_norm_is_each_sequence_normalised_alone_and_zero_at_pads():
    seqs = random_sequences([7, 1, 4], 3)
    x, lengths = padded_with_junk(seqs, extra=2)
    valid = (torch.arange(x.shape[1])[None, :] < lengths[:, None]).to(x.dtype)[:, :, None]
    z = utterance_norm(x * valid, valid)                                          # (B, T, 3)
    for b, s in enumerate(seqs):
        expected = normalize_utterance(s.double().numpy())                        # (T_b, 3), the front end's
        np.testing.assert_allclose(z[b, :len(s)].double().numpy(), expected, rtol=1e-4, atol=1e-5)
        assert torch.all(z[b, len(s):] == 0)


@pytest.mark.parametrize("value, members, expected", [
    (False, 2, ("none", "none")), (True, 1, ("batch",)), ("utterance", 2, ("utterance", "utterance")),
    (["utterance", "batch"], 2, ("utterance", "batch")), (("none", "batch"), 2, ("none", "batch"))])
def test_member_inputs_names_one_normalisation_per_member(value, members, expected):
    assert member_inputs(value, members) == expected


@pytest.mark.parametrize("value, members", [(["utterance", "batch"], 3), (["utterance"], 2), ("layer", 1),
                                            (["utterance", "speaker"], 2), (1, 1)])
def test_an_input_norm_that_does_not_fit_the_members_is_a_one_line_error(value, members):
    with pytest.raises(ConfigError, match=r"^model input_norm must be .* one per member") as info:
        LSTMFCN(3, 4, members=members, input_norm=value, **SMALL)
    assert "\n" not in str(info.value)


def test_each_member_reads_its_own_normalisation_and_the_ensemble_is_their_mean():
    """Same weights: member k of input_norm=["utterance", "batch"] is the one-member network with
    input_norm=kind_k, and the ensemble's probabilities are the mean of theirs."""
    torch.manual_seed(0)
    seqs = random_sequences([8, 3, 6], 3, seed=2)
    both = LSTMFCN(3, 4, members=2, input_norm=["utterance", "batch"], **SMALL)
    settle(both, seqs)  # the input batch norm's running statistics away from 0 / 1
    assert both.input_norm is not None and both.member_inputs == ("utterance", "batch")
    probs = []
    for k, kind in enumerate(("utterance", "batch")):
        one = LSTMFCN(3, 4, input_norm=kind, **SMALL).eval()
        state = {name.replace(f"members.{k}.", "members.0."): v for name, v in both.state_dict().items()
                 if not name.startswith("members.") or name.startswith(f"members.{k}.")}
        if kind != "batch":
            state = {name: v for name, v in state.items() if not name.startswith("input_norm.")}
        one.load_state_dict(state)
        probs.append(one.predict_proba(*padded_with_junk(seqs)))
    torch.testing.assert_close(both.predict_proba(*padded_with_junk(seqs, extra=3)), (probs[0] + probs[1]) / 2,
                               rtol=1e-5, atol=1e-6)


def test_with_two_input_norms_each_sequence_alone_equals_its_row_of_a_padded_batch():
    torch.manual_seed(1)
    model = LSTMFCN(2, 3, members=2, input_norm=["utterance", "batch"], rnn_steps=3, conv_steps=5, **SMALL)
    seqs = random_sequences([9, 4, 7, 1], 2)
    settle(model, seqs)
    assert_each_alone_equals_its_row(model, seqs, model(*padded_with_junk(seqs, extra=4)))


def test_utterance_input_is_blind_to_each_sequences_offset_and_scale():
    torch.manual_seed(2)
    model = LSTMFCN(3, 4, input_norm="utterance", **SMALL).eval()
    seqs = random_sequences([6, 5], 3, seed=4)
    moved = [3.0 * s + torch.tensor([1.0, -2.0, 0.5]) * (i + 1) for i, s in enumerate(seqs)]
    torch.testing.assert_close(model(*padded_with_junk(moved)), model(*padded_with_junk(seqs)), rtol=1e-4,
                               atol=1e-4)

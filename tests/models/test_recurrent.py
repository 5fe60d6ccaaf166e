"""RecurrentModel: heads, padding, directions, losses and its config."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from rnnkit.errors import ConfigError
from rnnkit.models import RecurrentModel


def _padded(lengths, feat=3, T=None):
    T = T or max(lengths)
    x = torch.randn(len(lengths), T, feat)
    for b, n in enumerate(lengths):
        x[b, n:] = 99.0  # garbage in the padding: it must not leak into the result
    return x, torch.tensor(lengths)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("head", ["last", "mean"])
def test_many_to_one_on_padding_equals_each_sequence_alone(cell, bidirectional, head):
    model = RecurrentModel(3, 5, 2, cell=cell, num_layers=2, bidirectional=bidirectional, head=head).eval()
    x, lengths = _padded([4, 2, 3])
    batched = model(x, lengths)  # (B, O)
    assert batched.shape == (3, 2)
    for b, n in enumerate(lengths.tolist()):
        alone = model(x[b : b + 1, :n])  # (1, O)
        torch.testing.assert_close(batched[b : b + 1], alone, rtol=1e-5, atol=1e-6)


def test_last_head_is_the_last_output_for_one_direction():
    model = RecurrentModel(3, 4, 1, cell="gru").eval()
    x = torch.randn(2, 6, 3)
    out, _ = model.rnn(x)  # (B, T, H)
    torch.testing.assert_close(model(x), model.fc(out[:, -1]))


def test_mean_head_is_the_mean_of_outputs():
    model = RecurrentModel(3, 4, 1, cell="lstm", head="mean").eval()
    x = torch.randn(2, 6, 3)
    out, _ = model.rnn(x)
    torch.testing.assert_close(model(x), model.fc(out.mean(dim=1)))


def test_sequence_head_gives_y_t_at_every_step_and_masks_padding():
    model = RecurrentModel(3, 4, 2, cell="rnn", head="sequence", output_activation="tanh").eval()
    x, lengths = _padded([5, 3])
    y = model(x, lengths)  # (B, T, O)
    assert y.shape == (2, 5, 2)
    out, _ = model.rnn(x[:1])
    torch.testing.assert_close(y[:1], torch.tanh(model.fc(out)))  # y_t = g(W_hy h_t + b_y)
    target = torch.randn(2, 5, 2)
    loss = model.compute_loss({"x": x, "y": target, "lengths": lengths})
    target2 = target.clone()
    target2[1, 3:] = 1e6  # changing targets on padding steps changes nothing
    assert torch.equal(model.compute_loss((x, target2, lengths)), loss)
    pred = y.detach()
    manual = torch.cat([(pred[0] - target[0]) ** 2, (pred[1, :3] - target[1, :3]) ** 2]).mean()
    torch.testing.assert_close(loss.detach(), manual)


def test_cross_entropy_uses_logits_and_softmax_output_sums_to_one():
    model = RecurrentModel(3, 4, 5, head="last", output_activation="softmax", loss="cross_entropy")
    x, y = torch.randn(6, 4, 3), torch.randint(0, 5, (6,))
    probs = model(x)
    torch.testing.assert_close(probs.sum(-1), torch.ones(6))
    torch.testing.assert_close(model.compute_loss((x, y)), F.cross_entropy(model.logits(x), y))


def test_sequence_cross_entropy_ignores_padding():
    model = RecurrentModel(3, 4, 5, head="sequence", loss="cross_entropy")
    x, lengths = _padded([4, 2])
    y = torch.randint(0, 5, (2, 4))
    z = model.logits(x, lengths)
    expected = F.cross_entropy(torch.cat([z[0], z[1, :2]]), torch.cat([y[0], y[1, :2]]))
    torch.testing.assert_close(model.compute_loss((x, y, lengths)), expected)


def test_bce_on_logits():
    model = RecurrentModel(3, 4, 1, output_activation="sigmoid", loss="bce")
    x, y = torch.randn(5, 3, 3), torch.randint(0, 2, (5, 1)).float()
    torch.testing.assert_close(
        model.compute_loss((x, y)), F.binary_cross_entropy(model(x), y), rtol=1e-5, atol=1e-6
    )


def test_dropout_between_layers_and_before_the_head():
    model = RecurrentModel(3, 4, 1, num_layers=2, dropout=0.5)
    assert model.rnn.dropout == 0.5
    x = torch.randn(4, 3, 3)
    model.train()
    assert not torch.equal(model(x), model(x))
    model.eval()
    assert torch.equal(model(x), model(x))


def test_model_config_rebuilds_the_same_architecture():
    model = RecurrentModel(3, 4, 2, cell="gru", num_layers=2, bidirectional=True, head="mean")
    clone = RecurrentModel.from_config(model.model_config)
    clone.load_state_dict(model.state_dict())
    x = torch.randn(2, 5, 3)
    torch.testing.assert_close(clone.eval()(x), model.eval()(x))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"cell": "transformer"}, "model.cell must be one of lstm, gru, rnn, got 'transformer'"),
        ({"head": "first"}, "model.head must be one of last, mean, sequence, got 'first'"),
        ({"loss": "hinge"}, "model.loss must be one of mse, l1, huber, cross_entropy, bce, got 'hinge'"),
        ({"hidden_size": 0}, "model.hidden_size must be a positive integer, got 0"),
        ({"dropout": 1.0}, "model.dropout must be in [0, 1), got 1.0"),
    ],
)
def test_bad_arguments_name_the_key(kwargs, message):
    args = dict(input_size=3, hidden_size=4, output_size=1)
    args.update(kwargs)
    with pytest.raises(ConfigError) as err:
        RecurrentModel(**args)
    assert str(err.value) == message

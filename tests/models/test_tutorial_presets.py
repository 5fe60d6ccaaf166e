"""SimpleRNN / SequenceRNN keep the tutorial's structure, names and initialisation."""
from __future__ import annotations

import torch
from torch import nn

from rnnkit.models import SequenceRNN, SimpleRNN


class TutorialStyle(nn.Module):
    """The tutorial's model structure, written here with torch.nn as the reference."""

    def __init__(self, input_size, hidden_size, output_size):
        super().__init__()
        self.hidden_size = hidden_size
        self.rnn = nn.RNN(input_size, hidden_size, batch_first=True)
        self.fc = nn.Linear(hidden_size, output_size)

    def forward(self, x):
        h0 = torch.zeros(1, x.size(0), self.hidden_size)
        out, _ = self.rnn(x, h0)
        return self.fc(out[:, -1, :])


def test_parameter_names_and_shapes():
    sd = SequenceRNN(1, 10, 1).state_dict()
    assert {k: tuple(v.shape) for k, v in sd.items()} == {
        "rnn.weight_ih_l0": (10, 1),
        "rnn.weight_hh_l0": (10, 10),
        "rnn.bias_ih_l0": (10,),
        "rnn.bias_hh_l0": (10,),
        "fc.weight": (1, 10),
        "fc.bias": (1,),
    }


def test_tutorial_state_dict_loads_and_gives_the_same_outputs():
    theirs = TutorialStyle(3, 7, 2)
    ours = SimpleRNN(3, 7, 2)
    ours.load_state_dict(theirs.state_dict())
    x = torch.randn(4, 6, 3)
    torch.testing.assert_close(ours(x), theirs(x), rtol=1e-6, atol=1e-6)


def test_same_seed_same_initial_weights_as_the_tutorial_class():
    torch.manual_seed(0)
    theirs = TutorialStyle(1, 10, 1).state_dict()
    torch.manual_seed(0)
    ours = SequenceRNN(1, 10, 1).state_dict()
    for name in theirs:
        assert torch.equal(ours[name], theirs[name]), name


def test_compute_loss_is_mse():
    model = SimpleRNN(2, 3, 1)
    x, y = torch.randn(5, 4, 2), torch.randn(5, 1)
    torch.testing.assert_close(model.compute_loss((x, y)), torch.mean((model(x) - y) ** 2))


def test_models_use_rnnkit_nn_layers():
    import rnnkit.nn

    assert isinstance(SequenceRNN(1, 4, 1).rnn, rnnkit.nn.RNN)

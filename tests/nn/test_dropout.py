"""Dropout between layers: training mode only, never after the last layer, rate p."""
from __future__ import annotations

import pytest
import torch

import rnnkit.nn
from tests.nn.helpers import assert_close, make_twins


class Recorder:
    """Records what each direction of each layer receives as input."""

    def __init__(self, layer):
        self.inputs = {}
        original = layer.run_direction

        def run_direction(x, states, k, d, batch_sizes):
            self.inputs[(k, d)] = x.detach().clone()
            return original(x, states, k, d, batch_sizes)

        layer.run_direction = run_direction


@pytest.mark.parametrize("p", [0.2, 0.5])
def test_drop_rate_and_scaling(p, sequence_impl):
    torch.manual_seed(1)
    layer = rnnkit.nn.RNN(4, 64, num_layers=2, backend="rnnkit").train()
    layer.dropout = p
    recorder = Recorder(layer)
    x = torch.randn(10, 20, 4)
    y, _ = layer(x)
    no_drop = rnnkit.nn.RNN(4, 64, num_layers=1, backend="rnnkit")
    no_drop.load_state_dict({k[:-1] + "0": v for k, v in layer.state_dict().items() if k.endswith("l0")})
    clean = no_drop(x)[0]  # layer 0's output, undropped: (T, B, H)
    seen = recorder.inputs[(1, 0)]  # what layer 1 received
    dropped = seen == 0
    n = dropped.numel()
    rate = dropped.float().mean().item()
    assert abs(rate - p) < 4 * (p * (1 - p) / n) ** 0.5  # 4 standard errors
    # survivors are scaled by 1 / (1 - p)
    torch.testing.assert_close(seen[~dropped], clean[~dropped] / (1 - p))


def test_no_dropout_after_last_layer(sequence_impl):
    ours, theirs = make_twins("GRU", input_size=3, hidden_size=4, num_layers=1, dropout=0.0)
    ours.dropout = 0.9  # even a huge rate must leave a 1-layer output alone
    ours.train()
    x = torch.randn(5, 2, 3, dtype=torch.float64)
    assert_close(ours(x)[0], theirs(x)[0])


@pytest.mark.parametrize("mode", ["LSTM", "GRU", "RNN_TANH"])
def test_dropout_zero_in_training_equals_eval(mode, sequence_impl):
    layer = make_twins(mode, input_size=3, hidden_size=4, num_layers=3, bidirectional=True)[0]
    x = torch.randn(5, 2, 3, dtype=torch.float64)
    train_out = layer.train()(x)
    eval_out = layer.eval()(x)
    assert_close(train_out[0], eval_out[0])


def test_dropout_changes_training_output_only(sequence_impl):
    layer = rnnkit.nn.LSTM(3, 8, num_layers=2, dropout=0.5, backend="rnnkit")
    x = torch.randn(5, 2, 3)
    eval_a, eval_b = layer.eval()(x)[0], layer(x)[0]
    assert torch.equal(eval_a, eval_b)
    train_a, train_b = layer.train()(x)[0], layer(x)[0]
    assert not torch.equal(train_a, train_b)


def test_dropout_gradients_flow_through_the_mask(sequence_impl):
    torch.manual_seed(0)
    layer = rnnkit.nn.GRU(3, 4, num_layers=2, dropout=0.5, backend="rnnkit", dtype=torch.float64).train()
    x = torch.randn(4, 2, 3, dtype=torch.float64, requires_grad=True)
    state = torch.get_rng_state()

    def f(x):
        torch.set_rng_state(state)  # the same mask on every call
        return layer(x)[0]

    assert torch.autograd.gradcheck(f, (x,))

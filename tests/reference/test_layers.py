"""Parameters: torch's names and shapes, torch's initialisation bounds, seeds, state_dict."""
from __future__ import annotations

import numpy as np
import pytest

from rnnkit.reference import GRU, LSTM, RNN


@pytest.mark.parametrize("cls, G", [(RNN, 1), (LSTM, 4), (GRU, 3)])
def test_names_and_shapes(cls, G):
    layer = cls(3, 5, num_layers=2)
    assert {k: v.shape for k, v in layer.params.items()} == {
        "weight_ih_l0": (G * 5, 3), "weight_hh_l0": (G * 5, 5),
        "bias_ih_l0": (G * 5,), "bias_hh_l0": (G * 5,),
        "weight_ih_l1": (G * 5, 5), "weight_hh_l1": (G * 5, 5),
        "bias_ih_l1": (G * 5,), "bias_hh_l1": (G * 5,),
    }
    assert list(cls(3, 5, bias=False).params) == ["weight_ih_l0", "weight_hh_l0"]


@pytest.mark.parametrize("cls", [RNN, LSTM, GRU])
def test_init_is_uniform_within_one_over_sqrt_h(cls):
    layer = cls(8, 25, num_layers=2, seed=0)
    values = np.concatenate([v.ravel() for v in layer.params.values()])
    assert values.min() >= -0.2 and values.max() <= 0.2  # 1/sqrt(25)
    assert values.min() < -0.19 and values.max() > 0.19  # fills the range
    assert abs(values.mean()) < 0.01 and values.std() == pytest.approx(0.2 / np.sqrt(3), rel=0.05)


def test_seed_reproduces_and_generator_is_accepted():
    a, b = LSTM(3, 4, seed=7), LSTM(3, 4, seed=7)
    for name in a.params:
        np.testing.assert_array_equal(a.params[name], b.params[name])
    c = LSTM(3, 4, seed=8)
    assert not np.array_equal(a.params["weight_ih_l0"], c.params["weight_ih_l0"])
    d = LSTM(3, 4, seed=np.random.default_rng(7))
    np.testing.assert_array_equal(a.params["weight_ih_l0"], d.params["weight_ih_l0"])


def test_state_dict_round_trip_is_a_copy():
    a, b = GRU(3, 4, seed=1), GRU(3, 4, seed=2)
    sd = a.state_dict()
    sd["weight_ih_l0"][0, 0] = 99.0
    assert a.params["weight_ih_l0"][0, 0] != 99.0
    b.load_state_dict(a.state_dict())
    x = np.random.default_rng(0).standard_normal((4, 2, 3))
    np.testing.assert_array_equal(a.forward(x)[0], b.forward(x)[0])


def test_default_state_is_zeros():
    layer = LSTM(3, 4, num_layers=2, seed=0)
    x = np.random.default_rng(0).standard_normal((4, 2, 3))
    zeros = np.zeros((2, 2, 4))
    y, (h, c), _ = layer.forward(x)
    y0, (h0, c0), _ = layer.forward(x, (zeros, zeros))
    np.testing.assert_array_equal(y, y0)
    np.testing.assert_array_equal(y[-1], h[-1])  # the top layer's last output is h_n[-1]
    assert repr(layer) == "LSTM(3, 4, num_layers=2, bias=True)"


def test_rnn_matches_its_plain_loop():
    layer = RNN(2, 3, nonlinearity="relu", seed=0)
    p = layer.params
    x = np.random.default_rng(1).standard_normal((4, 2, 2))
    h = np.zeros((2, 3))
    for t in range(4):
        h = np.maximum(x[t] @ p["weight_ih_l0"].T + p["bias_ih_l0"]
                       + h @ p["weight_hh_l0"].T + p["bias_hh_l0"], 0)
    y, h_n, _ = layer.forward(x)
    np.testing.assert_allclose(y[-1], h, atol=1e-15)
    np.testing.assert_allclose(h_n[0], h, atol=1e-15)

"""Bad input: one-line ValueErrors that name the argument, the expected and the seen value."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from rnnkit.errors import RnnkitError
from rnnkit.reference import GRU, LSTM, RNN


def _raises(fn, message):
    with pytest.raises(ValueError) as info:
        fn()
    assert isinstance(info.value, RnnkitError)
    assert str(info.value) == message


def test_x_of_wrong_feature_size():
    _raises(lambda: RNN(3, 4).forward(np.zeros((5, 2, 4))),
            "x: expected shape (T, B, 3), got (5, 2, 4)")


def test_x_of_wrong_rank():
    _raises(lambda: GRU(3, 4).forward(np.zeros((5, 3))), "x: expected shape (T, B, 3), got (5, 3)")


def test_empty_sequence():
    _raises(lambda: GRU(3, 4).forward(np.zeros((0, 2, 3))),
            "x: expected T >= 1 and B >= 1, got shape (0, 2, 3)")


def test_h0_of_wrong_shape():
    _raises(lambda: RNN(3, 4, num_layers=2).forward(np.zeros((5, 2, 3)), np.zeros((1, 2, 4))),
            "h0: expected shape (2, 2, 4), got (1, 2, 4)")


def test_lstm_state_must_be_a_pair():
    _raises(lambda: LSTM(3, 4).forward(np.zeros((5, 2, 3)), np.zeros((1, 2, 4))),
            "state: expected a pair (h0, c0), got ndarray")


def test_lstm_c0_of_wrong_shape():
    layer = LSTM(3, 4)
    _raises(lambda: layer.forward(np.zeros((5, 2, 3)), (np.zeros((1, 2, 4)), np.zeros((1, 3, 4)))),
            "c0: expected shape (1, 2, 4), got (1, 3, 4)")


def test_dy_and_dstate_of_wrong_shape():
    layer = LSTM(3, 4)
    _, _, cache = layer.forward(np.zeros((5, 2, 3)))
    _raises(lambda: layer.backward(np.zeros((5, 2, 3)), cache),
            "dy: expected shape (5, 2, 4), got (5, 2, 3)")
    _raises(lambda: layer.backward(np.zeros((5, 2, 4)), cache, (np.zeros((1, 2, 4)),)),
            "dstate: expected a pair (dh_n, dc_n), got tuple of length 1")
    _raises(lambda: layer.backward(np.zeros((5, 2, 4)), cache,
                                   (np.zeros((2, 2, 4)), np.zeros((1, 2, 4)))),
            "dh_n: expected shape (1, 2, 4), got (2, 2, 4)")


def test_truncate_must_be_positive():
    layer = RNN(3, 4)
    _, _, cache = layer.forward(np.zeros((5, 2, 3)))
    _raises(lambda: layer.backward(np.zeros((5, 2, 4)), cache, truncate=0),
            "truncate: expected a positive int, got 0")


def test_cache_from_another_layer():
    a, b = RNN(3, 4), RNN(3, 4)
    _, _, cache = a.forward(np.zeros((5, 2, 3)))
    _raises(lambda: b.backward(np.zeros((5, 2, 4)), cache),
            "cache: expected the cache returned by this layer's forward")


def test_constructor_arguments():
    _raises(lambda: RNN(3, 4, nonlinearity="sigmoid"),
            "nonlinearity: expected 'tanh', 'relu' or a pair (f, f_prime) of callables, "
            "got 'sigmoid'")
    _raises(lambda: LSTM(0, 4), "input_size: expected a positive int, got 0")
    _raises(lambda: GRU(3, 4, num_layers=1.5), "num_layers: expected a positive int, got 1.5")
    _raises(lambda: GRU(3, 4, bias=1), "bias: expected True or False, got 1")


def test_load_state_dict_errors():
    layer = GRU(3, 4)
    good = layer.state_dict()
    _raises(lambda: layer.load_state_dict({**good, "weight_ih_l1": good["weight_ih_l0"]}),
            "state_dict: unexpected key 'weight_ih_l1'")
    missing = {k: v for k, v in good.items() if k != "bias_hh_l0"}
    _raises(lambda: layer.load_state_dict(missing), "state_dict: missing key 'bias_hh_l0'")
    _raises(lambda: layer.load_state_dict({**good, "weight_hh_l0": np.zeros((12, 3))}),
            "weight_hh_l0: expected shape (12, 4), got (12, 3)")


def test_reference_never_imports_torch():
    code = ("import sys, numpy as np; import rnnkit.reference as r; import rnnkit.reference.demo;"
            " import rnnkit.cli.demo; r.LSTM(2, 3).forward(np.zeros((4, 1, 2)));"
            " rnnkit.reference.demo.run_demo(steps=2, log=None);"
            " print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"

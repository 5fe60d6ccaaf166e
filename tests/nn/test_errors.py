"""The same mistake raises the same exception type and message in rnnkit.nn and torch.nn.

Each row of the table is run live against both packages; nothing here is hard-coded
except the packed-LSTM cases, where torch leaves the checks to its C++ kernel (whose
messages do not name the problem) and rnnkit.nn gives torch's Python-level wording.
"""
from __future__ import annotations

import functools
import types
import warnings

import pytest
import torch
from torch.nn.utils.rnn import pack_sequence

import rnnkit.nn

LAYERS = ("RNN", "LSTM", "GRU")
CELLS = ("RNNCell", "LSTMCell", "GRUCell")


def x(*shape, dtype=torch.float32):
    return torch.randn(*shape, dtype=dtype)


def packed(size):
    return pack_sequence([x(4, size), x(2, size), x(3, size)], enforce_sorted=False)


def z(*shape):
    return torch.zeros(*shape)


MISTAKES = {
    # constructor arguments
    "dropout above 1": lambda nn: nn.LSTM(3, 4, 2, dropout=1.5),
    "dropout below 0": lambda nn: nn.GRU(3, 4, 2, dropout=-0.1),
    "dropout bool": lambda nn: nn.RNN(3, 4, 2, dropout=True),
    "dropout string": lambda nn: nn.LSTM(3, 4, 2, dropout="a"),
    "dropout None": lambda nn: nn.LSTM(3, 4, 2, dropout=None),
    "bias not bool": lambda nn: nn.LSTM(3, 4, bias="yes"),
    "batch_first not bool": lambda nn: nn.GRU(3, 4, batch_first=1),
    "input_size float": lambda nn: nn.LSTM(3.0, 4),
    "input_size zero": lambda nn: nn.GRU(0, 4),
    "hidden_size float": lambda nn: nn.RNN(3, 4.0),
    "hidden_size negative": lambda nn: nn.LSTM(3, -4),
    "num_layers zero": lambda nn: nn.LSTM(3, 4, 0),
    "num_layers float": lambda nn: nn.GRU(3, 4, 2.0),
    "proj_size negative": lambda nn: nn.LSTM(3, 4, proj_size=-1),
    "proj_size not smaller": lambda nn: nn.LSTM(3, 4, proj_size=4),
    "proj_size on GRU": lambda nn: nn.GRU(3, 4, proj_size=2),
    "proj_size on RNN": lambda nn: nn.RNN(3, 4, proj_size=2),
    "unknown nonlinearity": lambda nn: nn.RNN(3, 4, nonlinearity="sigmoid"),
    "unknown nonlinearity positional": lambda nn: nn.RNN(3, 4, 1, "gelu"),
    # forward: input
    "LSTM wrong input size": lambda nn: nn.LSTM(3, 4)(x(5, 2, 7)),
    "GRU wrong input size": lambda nn: nn.GRU(3, 4)(x(5, 2, 7)),
    "RNN wrong input size": lambda nn: nn.RNN(3, 4)(x(5, 2, 7)),
    "unbatched wrong input size": lambda nn: nn.LSTM(3, 4)(x(5, 7)),
    "LSTM 4-D input": lambda nn: nn.LSTM(3, 4)(x(1, 5, 2, 3)),
    "GRU 1-D input": lambda nn: nn.GRU(3, 4)(x(3)),
    "RNN 4-D input": lambda nn: nn.RNN(3, 4)(x(1, 5, 2, 3)),
    "dtype mismatch": lambda nn: nn.LSTM(3, 4)(x(5, 2, 3, dtype=torch.float64)),
    "GRU dtype mismatch": lambda nn: nn.GRU(3, 4)(x(5, 2, 3, dtype=torch.float64)),
    "empty sequence": lambda nn: nn.GRU(3, 4)(x(0, 2, 3)),
    "GRU packed wrong input size": lambda nn: nn.GRU(3, 4)(packed(7)),
    "RNN packed wrong input size": lambda nn: nn.RNN(3, 4)(packed(7)),
    # forward: states
    "LSTM wrong hidden size": lambda nn: nn.LSTM(3, 4)(x(5, 2, 3), (z(1, 2, 5), z(1, 2, 4))),
    "LSTM wrong cell size": lambda nn: nn.LSTM(3, 4)(x(5, 2, 3), (z(1, 2, 4), z(1, 2, 5))),
    "LSTM wrong state batch": lambda nn: nn.LSTM(3, 4)(x(5, 2, 3), (z(1, 3, 4), z(1, 3, 4))),
    "LSTM wrong state layers": lambda nn: nn.LSTM(3, 4, 2)(x(5, 2, 3), (z(1, 2, 4), z(1, 2, 4))),
    "LSTM projected full-size h0": lambda nn: nn.LSTM(3, 4, proj_size=2)(x(5, 2, 3), (z(1, 2, 4), z(1, 2, 4))),
    "LSTM batched input 2-D states": lambda nn: nn.LSTM(3, 4)(x(5, 2, 3), (z(1, 4), z(1, 4))),
    "LSTM unbatched input 3-D states": lambda nn: nn.LSTM(3, 4)(x(5, 3), (z(1, 1, 4), z(1, 1, 4))),
    "LSTM unbatched wrong hidden": lambda nn: nn.LSTM(3, 4)(x(5, 3), (z(1, 5), z(1, 4))),
    "GRU wrong hidden size": lambda nn: nn.GRU(3, 4)(x(5, 2, 3), z(1, 2, 5)),
    "GRU bidirectional wrong layers": lambda nn: nn.GRU(3, 4, bidirectional=True)(x(5, 2, 3), z(1, 2, 4)),
    "RNN wrong hidden batch": lambda nn: nn.RNN(3, 4)(x(5, 2, 3), z(1, 3, 4)),
    "GRU batched input 2-D hx": lambda nn: nn.GRU(3, 4)(x(5, 2, 3), z(1, 4)),
    "RNN unbatched input 3-D hx": lambda nn: nn.RNN(3, 4)(x(5, 3), z(1, 1, 4)),
    "GRU hx given as a tuple": lambda nn: nn.GRU(3, 4)(x(5, 2, 3), (z(1, 2, 4),)),
    "GRU packed wrong hidden size": lambda nn: nn.GRU(3, 4)(packed(3), z(1, 3, 5)),
    # cells
    "RNNCell wrong input size": lambda nn: nn.RNNCell(3, 4)(x(2, 5)),
    "LSTMCell wrong input size": lambda nn: nn.LSTMCell(3, 4)(x(2, 5)),
    "GRUCell unbatched wrong input size": lambda nn: nn.GRUCell(3, 4)(x(5)),
    "RNNCell 3-D input": lambda nn: nn.RNNCell(3, 4)(x(1, 2, 3)),
    "LSTMCell 3-D input": lambda nn: nn.LSTMCell(3, 4)(x(1, 2, 3)),
    "GRUCell 3-D hidden": lambda nn: nn.GRUCell(3, 4)(x(2, 3), z(1, 2, 4)),
    "LSTMCell 3-D hx[1]": lambda nn: nn.LSTMCell(3, 4)(x(2, 3), (z(2, 4), z(1, 2, 4))),
    "GRUCell wrong hidden size": lambda nn: nn.GRUCell(3, 4)(x(2, 3), z(2, 5)),
    "RNNCell wrong hidden batch": lambda nn: nn.RNNCell(3, 4)(x(2, 3), z(3, 4)),
    "LSTMCell wrong cell size": lambda nn: nn.LSTMCell(3, 4)(x(2, 3), (z(2, 4), z(2, 5))),
    "LSTMCell wrong cell batch": lambda nn: nn.LSTMCell(3, 4)(x(2, 3), (z(2, 4), z(3, 4))),
    "GRUCell unbatched input, batch-of-one hidden": lambda nn: nn.GRUCell(3, 4)(x(3), z(1, 4)),
    "RNNCell dtype mismatch": lambda nn: nn.RNNCell(3, 4)(x(2, 3, dtype=torch.float64)),
    "RNNCell unknown nonlinearity": lambda nn: nn.RNNCell(3, 4, nonlinearity="gelu")(x(2, 3)),
    "cell negative hidden size": lambda nn: nn.GRUCell(3, -1),
}


def rnnkit_namespace(backend: str):
    layers = {name: functools.partial(getattr(rnnkit.nn, name), backend=backend) for name in LAYERS}
    cells = {name: getattr(rnnkit.nn, name) for name in CELLS}
    return types.SimpleNamespace(**layers, **cells)


def outcome(mistake, namespace):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            mistake(namespace)
    except Exception as error:  # noqa: BLE001 - the point is to compare whatever is raised
        return type(error), str(error)
    return None


@pytest.mark.parametrize("backend", ["rnnkit", "auto"])
@pytest.mark.parametrize("name", list(MISTAKES))
def test_same_exception_as_torch(name, backend):
    expected = outcome(MISTAKES[name], torch.nn)
    assert expected is not None, f"torch.nn accepts {name!r}; the table is wrong"
    assert outcome(MISTAKES[name], rnnkit_namespace(backend)) == expected


@pytest.mark.parametrize("cls", LAYERS)
def test_same_warning_for_dropout_with_one_layer(cls):
    with pytest.warns(UserWarning) as theirs:
        getattr(torch.nn, cls)(3, 4, dropout=0.5)
    with pytest.warns(UserWarning) as ours:
        getattr(rnnkit.nn, cls)(3, 4, dropout=0.5)
    assert [str(w.message) for w in ours] == [str(w.message) for w in theirs]
    assert ours[0].filename == __file__  # the warning points at the caller's line


@pytest.mark.parametrize(
    "hx,message",
    [
        ((z(1, 3, 5), z(1, 3, 4)), "Expected hidden[0] size (1, 3, 4), got [1, 3, 5]"),
        ((z(1, 3, 4), z(1, 3, 5)), "Expected hidden[1] size (1, 3, 4), got [1, 3, 5]"),
        ((z(1, 2, 4), z(1, 2, 4)), "Expected hidden[0] size (1, 3, 4), got [1, 2, 4]"),
    ],
)
def test_packed_lstm_states_are_checked_in_torch_words(hx, message):
    with pytest.raises(RuntimeError) as info:
        rnnkit.nn.LSTM(3, 4)(packed(3), hx)
    assert str(info.value) == message


def test_packed_lstm_wrong_input_size_in_torch_words():
    with pytest.raises(RuntimeError) as info:
        rnnkit.nn.LSTM(3, 4)(packed(7))
    assert str(info.value) == "input.size(-1) must be equal to input_size. Expected 3, got 7"


def test_unknown_backend():
    with pytest.raises(ValueError) as info:
        rnnkit.nn.GRU(3, 4, backend="cudnn")
    assert str(info.value) == "backend must be one of 'auto', 'rnnkit', 'torch', got 'cudnn'"

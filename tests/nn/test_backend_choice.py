"""The decision table of backend="auto" (rnnkit.nn.backend_choice): its choices, fixed.

The timings behind the table live in docs/performance.md; this file fixes the rule, so a
change of the table is a deliberate edit here too. Columns: mode, training, packed,
projection, hidden size -> the path, on CPU in float32 with the fused loops built.
"""
from __future__ import annotations

import pytest
import torch

import rnnkit.nn
from rnnkit.nn import backend_choice, kernels
from rnnkit.nn.backend_choice import Case, choose, decide

R, T = "rnnkit", "torch"

# (mode, training, packed, proj, hidden_size): expected path
EXPECTED = [
    # LSTM training: always rnnkit (fused BPTT beats oneDNN; packed and projected too)
    (("LSTM", True, False, False, 10), R),
    (("LSTM", True, False, False, 512), R),
    (("LSTM", True, True, False, 10), R),
    (("LSTM", True, True, False, 256), R),
    (("LSTM", True, False, True, 128), R),
    (("LSTM", True, True, True, 128), R),
    # LSTM inference: oneDNN, except tiny recurrent weights and projections
    (("LSTM", False, False, False, 10), R),
    (("LSTM", False, False, False, 16), R),
    (("LSTM", False, False, False, 17), T),
    (("LSTM", False, False, False, 512), T),
    (("LSTM", False, True, False, 10), T),
    (("LSTM", False, True, False, 16), T),
    (("LSTM", False, True, False, 17), R),
    (("LSTM", False, True, False, 256), R),
    (("LSTM", False, False, True, 10), R),
    (("LSTM", False, True, True, 256), R),
]
for mode in ("GRU", "RNN_TANH", "RNN_RELU"):
    EXPECTED += [
        ((mode, True, False, False, 10), R),
        ((mode, True, False, False, 512), R),
        ((mode, True, True, False, 16), T),  # packed, tiny: the Python loops cost more
        ((mode, True, True, False, 17), R),
        ((mode, True, True, False, 512), R),
        ((mode, False, False, False, 10), R),
        ((mode, False, False, False, 512), R),
        ((mode, False, True, False, 10), T),
        ((mode, False, True, False, 512), T),
    ]


@pytest.mark.parametrize("key,expected", EXPECTED, ids=[str(k) for k, _ in EXPECTED])
def test_table_choices(key, expected):
    assert choose(*key) == expected
    assert decide(Case(*key)) == expected


@pytest.mark.parametrize("mode", ["LSTM", "GRU", "RNN_TANH"])
def test_other_devices_and_dtypes_take_torch(mode):
    for device, dtype in [("cuda", torch.float32), ("cpu", torch.bfloat16), ("cpu", torch.float16)]:
        for training in (True, False):
            assert choose(mode, training, False, False, 64, device, dtype) == T


F64 = torch.float64
# float64: torch has no oneDNN kernel and the kernels' float64 gates use the scalar exp
EXPECTED_F64 = [
    (("LSTM", True, False, False, 128), R),
    (("LSTM", True, True, False, 128), R),
    (("LSTM", False, False, False, 128), T),
    (("LSTM", False, False, False, 256), R),
    (("LSTM", False, True, False, 256), T),  # float64 packed: not measured, torch
    (("LSTM", False, False, False, 10), R),
    (("GRU", True, False, False, 128), R),
    (("GRU", False, False, False, 128), T),
    (("GRU", False, False, False, 512), T),
    (("RNN_TANH", False, False, False, 10), T),
    (("RNN_RELU", True, True, False, 64), R),
]


@pytest.mark.parametrize("key,expected", EXPECTED_F64, ids=[str(k) for k, _ in EXPECTED_F64])
def test_float64_choices(key, expected):
    assert choose(*key, "cpu", F64) == expected


def test_without_fused_loops_only_gru_rnn_training_and_projections_take_rnnkit():
    for mode in ("GRU", "RNN_TANH", "RNN_RELU"):
        assert choose(mode, True, False, False, 64, fused=False) == R
        assert choose(mode, True, True, False, 64, fused=False) == R
        assert choose(mode, False, False, False, 64, fused=False) == T
    assert choose("LSTM", True, False, False, 64, fused=False) == T
    assert choose("LSTM", False, False, False, 10, fused=False) == T
    assert choose("LSTM", True, False, True, 64, fused=False) == R


def test_every_row_says_why_and_chooses_a_path():
    for row in backend_choice.TABLE + backend_choice.WITHOUT_FUSED:
        assert row.choice in (R, T) and row.why


@pytest.mark.skipif(not kernels.available(), reason="fused kernels not built")
def test_layers_ask_the_table():
    """resolved_backend passes the layer's own facts: mode, grad mode, packing, proj, H."""
    lstm = rnnkit.nn.LSTM(3, 32)
    assert lstm.resolved_backend() == R
    assert lstm.resolved_backend(packed=True) == R
    with torch.no_grad():
        assert lstm.resolved_backend() == T
        assert rnnkit.nn.LSTM(3, 10).resolved_backend() == R
        assert rnnkit.nn.LSTM(3, 32, proj_size=4).resolved_backend() == R
        gru = rnnkit.nn.GRU(3, 32)
        assert gru.resolved_backend() == R
        assert gru.resolved_backend(packed=True) == T
    assert rnnkit.nn.RNN(3, 8).resolved_backend(packed=True) == T
    assert rnnkit.nn.RNN(3, 32).resolved_backend(packed=True) == R


def test_small_calls_run_the_lstm_inference_on_rnnkit():
    """Generation feeds B·T = 1 rows per call: oneDNN reorders its weights each call."""
    assert choose("LSTM", False, False, False, 512, small_call=True) == R
    assert choose("LSTM", False, False, False, 512, small_call=False) == T
    assert choose("LSTM", False, True, False, 512, small_call=True) == R  # packed: fused too
    with torch.no_grad():
        lstm = rnnkit.nn.LSTM(3, 64)
        assert lstm.resolved_backend(rows=backend_choice.SMALL_CALL_ROWS) == (
            R if kernels.available() else T)
        assert lstm.resolved_backend(rows=backend_choice.SMALL_CALL_ROWS + 1) == T

"""How rnnkit's RNN, LSTM, GRU and their cells run when an extension is on.

The layers call :func:`run_extended_direction` from ``RNNBase.run_direction``; the
cells call :func:`extended_cell`. The LSTM without packing takes the hand-written
backward of :mod:`rnnkit.nn.bptt.lstm_ext` (its time loops in C++ where the fused
kernels are built, :mod:`rnnkit.nn.bptt.lstm_ext_kernel`, which for layer norm also
normalises the input part); every other case runs the plain-autograd loop of
:mod:`.sequence`. All draw the random masks in the same order (recurrent dropout, then
zoneout of h, then of c), so a fixed seed gives the same numbers on any route.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from rnnkit.nn.bptt import lstm_ext_kernel
from rnnkit.nn.extensions.layernorm import LN_NAMES, ln_shapes
from rnnkit.nn.bptt.lstm_ext import lstm_extended_sequence
from rnnkit.nn.extensions.options import Extensions
from rnnkit.nn.extensions.recurrent_dropout import recurrent_mask
from rnnkit.nn.extensions.sequence import extended_sequence, input_part, make_step
from rnnkit.nn.extensions.zoneout import zoneout_masks

__all__ = ["USE_FUSED_LSTM", "add_ln_parameters", "reset_ln_parameters", "ln_parameters",
           "run_extended_direction", "extended_cell"]

# When the LSTM takes the hand-written backward of bptt.lstm_ext: "auto" (the default)
# uses it for zoneout and recurrent dropout, and for layer norm where the fused C++
# loops run; the Python version of the hand-written loop measured slower than the
# autograd loop with layer norm (benchmarks/RESULTS_extensions.md). True / False force
# one or the other (tests compare both).
USE_FUSED_LSTM: bool | str = "auto"


def add_ln_parameters(module: nn.Module, mode: str, hidden_size: int, suffix: str = "",
                      factory: dict | None = None) -> None:
    """Register ln_gain_* (ones) and ln_bias_* (zeros) named with ``suffix``."""
    for name, size in ln_shapes(mode, hidden_size).items():
        module.register_parameter(name + suffix, nn.Parameter(torch.empty(size, **(factory or {}))))


def reset_ln_parameters(module: nn.Module) -> None:
    """Layer-norm gains start at 1 and biases at 0 (Ba et al.)."""
    with torch.no_grad():
        for name, param in module.named_parameters(recurse=False):
            if name.startswith("ln_gain"):
                param.fill_(1.0)
            elif name.startswith("ln_bias"):
                param.zero_()


def ln_parameters(module: nn.Module, suffix: str = "") -> dict | None:
    """{'ln_gain_ih': …, …} for one layer-direction (or a cell), or None without LN."""
    if not module.extensions.layer_norm:
        return None
    return {name: getattr(module, name + suffix) for name in LN_NAMES
            if hasattr(module, name + suffix)}


def run_extended_direction(module, x: Tensor, states: tuple, layer: int, direction: int,
                           batch_sizes):
    """One layer-direction with extensions: x (T, B, I_k) -> y (T, B, H), final states."""
    ext: Extensions = module.extensions
    w_ih, w_hh, b_ih, b_hh, _ = module.layer_weights(layer, direction)
    ln = ln_parameters(module, f"_l{layer}" + ("_reverse" if direction == 1 else ""))
    reverse = direction == 1
    in_cpp = lstm_ext_kernel.applies(x)
    fused = (not ext.layer_norm or in_cpp) if USE_FUSED_LSTM == "auto" else USE_FUSED_LSTM
    if module.mode == "LSTM" and batch_sizes is None and fused:
        d = recurrent_mask(states[0], ext.recurrent_dropout, module.training)
        m_h = zoneout_masks(states[0], x.shape[0], ext.zoneout, module.training)
        m_c = zoneout_masks(states[1], x.shape[0], ext.zoneout, module.training)
        if ln is not None and in_cpp:  # the input LN inside the kernel too
            y, h, c = lstm_ext_kernel.ln_lstm_sequence(x, w_ih, b_ih, b_hh, ln, states[0], states[1],
                                                   w_hh, d, m_h, m_c, ext.eps, reverse)
            return y, (h, c)
        ax = input_part("LSTM", x, w_ih, b_ih, b_hh, ln, ext.eps)  # (T, B, 4H)
        y, h, c = lstm_extended_sequence(ax, states[0], states[1], w_hh, ln, d, m_h, m_c,
                                         ext.eps, reverse)
        return y, (h, c)
    mode = module.mode
    return extended_sequence(mode, x, states, w_ih, w_hh, b_ih, b_hh, ln, ext,
                             module.training, batch_sizes, reverse)


def extended_cell(cell, mode: str, x: Tensor, states: tuple) -> tuple:
    """One step of a cell with layer norm or a custom nonlinearity: x (B, I) -> new states.

    Same operations as one step of :func:`.sequence.extended_sequence`.
    """
    ln = ln_parameters(cell)
    ax = input_part(mode, x, cell.weight_ih, cell.bias_ih, cell.bias_hh, ln, cell.extensions.eps)
    step = make_step(mode, cell.weight_hh, cell.bias_hh, ln, cell.extensions)
    return step(ax, states[0], *states)

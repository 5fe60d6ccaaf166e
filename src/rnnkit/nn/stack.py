"""The "rnnkit" path of a sequence layer: layers × directions, dropout, packing.

Per layer k and direction d, one sequence function runs the whole time loop::

    y_k = concat_d( sequence(x_k, state0[k·D + d], weights_{k,d}, reverse=(d == 1)) )
    x_{k+1} = dropout(y_k)   in training mode, between layers only (not after the last)

``SEQUENCE_IMPL`` chooses the sequence functions:

- ``"auto"``: ``rnnkit.nn.bptt`` (hand-written BPTT), except inside torch.func
  transforms (grad, vmap, ...), where ``rnnkit.nn.functional`` (plain autograd) runs;
- ``"bptt"`` / ``"functional"``: that one, always (tests set it to run both).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from rnnkit.nn import bptt, functional, packing

__all__ = ["SEQUENCE_IMPL", "has_fast_kernel", "sequence_function", "run_layers"]

SEQUENCE_IMPL = "auto"
_NAMES = {"LSTM": "lstm_sequence", "GRU": "gru_sequence", "RNN_TANH": "rnn_sequence", "RNN_RELU": "rnn_sequence"}


def _functorch_active() -> bool:
    """Inside torch.func.grad / vmap / jacrev ...: autograd.Functions without
    ``setup_context`` cannot run there, the plain-autograd loops can."""
    check = getattr(torch._C, "_are_functorch_transforms_active", None)
    return bool(check and check())


def _bptt_function(mode: str):
    """rnnkit.nn.bptt's function for ``mode``, or None under an active torch.func
    transform (bptt's autograd.Functions define no ``setup_context``)."""
    if _functorch_active():
        return None
    return getattr(bptt, _NAMES[mode])


def has_fast_kernel(mode: str) -> bool:
    """Whether the "rnnkit" path would run rnnkit.nn.bptt's kernel for ``mode`` now."""
    return SEQUENCE_IMPL != "functional" and _bptt_function(mode) is not None


def sequence_function(mode: str):
    """The function that runs one layer-direction of ``mode`` under ``SEQUENCE_IMPL``."""
    name = _NAMES[mode]
    if SEQUENCE_IMPL == "functional":
        return getattr(functional, name)
    if SEQUENCE_IMPL not in ("auto", "bptt"):
        raise ValueError(f"SEQUENCE_IMPL must be 'auto', 'bptt' or 'functional', got {SEQUENCE_IMPL!r}")
    fn = _bptt_function(mode)
    if fn is None:
        if SEQUENCE_IMPL == "bptt":
            raise RuntimeError(f"rnnkit.nn.bptt.{name} cannot run inside a torch.func "
                               "transform; set SEQUENCE_IMPL to 'auto' or 'functional'")
        return getattr(functional, name)
    return fn


def run_direction(module, x: Tensor, states: tuple, layer: int, direction: int, batch_sizes):
    """One layer-direction: x (T, B, I_k) -> y (T, B, H_out) and its final states."""
    w_ih, w_hh, b_ih, b_hh, w_hr = module.layer_weights(layer, direction)
    fn = sequence_function(module.mode)
    reverse = direction == 1
    if module.mode == "LSTM":
        y, h, c = fn(x, *states, w_ih, w_hh, b_ih, b_hh, w_hr, batch_sizes=batch_sizes, reverse=reverse)
        return y, (h, c)
    if module.mode == "GRU":
        y, h = fn(x, *states, w_ih, w_hh, b_ih, b_hh, batch_sizes=batch_sizes, reverse=reverse)
        return y, (h,)
    nonlinearity = "tanh" if module.mode == "RNN_TANH" else "relu"
    y, h = fn(x, *states, w_ih, w_hh, b_ih, b_hh, nonlinearity, batch_sizes=batch_sizes, reverse=reverse)
    return y, (h,)


def run_layers(module, input: Tensor, hx: tuple, batch_sizes: Tensor | None):
    """All layers and directions of ``module`` (an RNNBase) on checked input.

    ``input`` (T, B, I), (B, T, I) when batch_first, or packed rows (N, I);
    ``hx`` tuple of (L·D, B, ·) initial states. Returns the output in the input's
    layout and the tuple of (L·D, B, ·) final states.
    """
    if batch_sizes is not None:
        x = packing.packed_to_padded(input, batch_sizes)  # (T, B, I)
        steps = batch_sizes.tolist()
    else:
        x = input.transpose(0, 1) if module.batch_first else input  # (T, B, I)
        steps = None
    if x.size(0) == 0:
        raise RuntimeError("Expected sequence length to be larger than 0 in RNN")
    x = x.contiguous()
    num_directions = 2 if module.bidirectional else 1
    finals: list[list[Tensor]] = [[] for _ in hx]
    for layer in range(module.num_layers):
        outputs = []
        for direction in range(num_directions):
            index = layer * num_directions + direction
            states = tuple(h[index].contiguous() for h in hx)  # (B, ·) each
            y, states = module.run_direction(x, states, layer, direction, steps)
            outputs.append(y)  # (T, B, H_out)
            for final, state in zip(finals, states):
                final.append(state)
        x = outputs[0] if num_directions == 1 else torch.cat(outputs, dim=-1)  # (T, B, D·H_out)
        if module.training and module.dropout > 0 and layer < module.num_layers - 1:
            x = F.dropout(x, module.dropout, training=True)
    # (L·D, B, ·) each; one layer-direction's state is already a fresh tensor of its own
    h_n = tuple(f[0].unsqueeze(0) if len(f) == 1 else torch.stack(f) for f in finals)
    if batch_sizes is not None:
        return packing.padded_to_packed(x, batch_sizes), h_n  # (N, D·H_out)
    return (x.transpose(0, 1) if module.batch_first else x), h_n

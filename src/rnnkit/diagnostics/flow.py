"""How much gradient reaches each time step: ‖∂L/∂h_t‖ for every t, layer and direction.

:func:`gradient_flow` runs a recurrent layer forward from zero states, takes the loss,
and walks back through time with the hand-written steps of
:mod:`rnnkit.diagnostics.steps`, keeping the total gradient of the loss with respect to
every hidden state,

    ∂L/∂h_t = (direct part from the loss or the layer above) + (∂h_{t+1}/∂h_t)^T ∂L/∂h_{t+1},

and reports its norm over the batch and hidden units (the Frobenius norm of a (B, H)
tensor). Vanishing gradients show as a norm that falls geometrically as t moves away
from the step where the loss is taken; exploding ones as a norm that grows.

The **effective memory span** of a layer-direction is the largest lag k = T - t at which
the norm is still at least ``fraction`` times its value at the last step t = T:

    span = max { k : ‖∂L/∂h_{T-k}‖ ≥ fraction · ‖∂L/∂h_T‖ }      (0 ≤ span ≤ T - 1)

Models: an rnnkit ``RNN``/``LSTM``/``GRU`` (tanh or relu, any ``num_layers``,
``bidirectional``, ``batch_first``, with or without bias) or ``MinGRU``/``MinLSTM``; or a
task model that keeps such a layer as ``model.rnn`` and calls it once on the batch's
input inside ``model.compute_loss(batch)`` (rnnkit's task models and
:class:`rnnkit.diagnostics.model.TaskModel` do). Dropout between layers is left out, as
in eval mode. Not covered (one-line error): ``proj_size``, layer norm, zoneout, recurrent
dropout, custom nonlinearities, ``stateful`` layers and packed or padded batches.

Losses (``loss=``): ``"last"``: L = mean_b u·y_T[b] with u = 1/√(D·H_top) (1, …, 1), a
fixed readout of the top layer's last output; ``"every"``: the same readout averaged
over all T steps; a callable ``loss(output) -> scalar`` of the layer's output (in its
own layout); ``"auto"`` (default): the task model's own ``compute_loss(batch)``, or
``"last"`` for a bare layer.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Callable, Union

import numpy as np
import torch
from torch import Tensor, nn

from rnnkit.diagnostics import steps
from rnnkit.errors import RnnkitError
from rnnkit.nn import GRU, LSTM, RNN, MinGRU, MinLSTM

__all__ = ["GradientFlow", "gradient_flow", "hidden_gradients", "effective_span", "layer_mode",
           "in_float64"]

Loss = Union[str, Callable[[Tensor], Tensor]]


@dataclass(frozen=True)
class GradientFlow:
    """``norms[key][t]`` = ‖∂L/∂h_{t+1}‖ (t = 0 … T-1) for key "l0", "l0_reverse", "l1", …"""

    norms: dict[str, np.ndarray]
    loss: float
    fraction: float
    spans: dict[str, int] = field(default_factory=dict)

    @property
    def T(self) -> int:
        return len(next(iter(self.norms.values())))

    def span(self, key: str = "l0") -> int:
        return self.spans[key]


def effective_span(norms: np.ndarray, fraction: float = 0.01) -> int:
    """Largest lag k with norms[T-1-k] ≥ fraction · norms[T-1]; 0 when norms[T-1] is 0."""
    norms = np.asarray(norms, dtype=np.float64)
    ref = norms[-1]
    if not ref > 0:
        return 0
    lags = np.nonzero(norms[::-1] >= fraction * ref)[0]  # lag k ↔ index T-1-k
    return int(lags.max())


def layer_mode(layer: nn.Module) -> str:
    """"RNN_TANH", "RNN_RELU", "LSTM", "GRU", "MinGRU" or "MinLSTM"; RnnkitError otherwise."""
    name = type(layer).__name__
    if isinstance(layer, (MinGRU, MinLSTM)):
        if getattr(layer, "stateful", False):
            raise RnnkitError(f"gradient_flow: a stateful {name} is not supported (it starts "
                              "from a carried state); use stateful=False")
        return name
    if not isinstance(layer, (RNN, LSTM, GRU)):
        raise RnnkitError(f"gradient_flow: expected an rnnkit RNN, LSTM, GRU, MinGRU or MinLSTM "
                          f"(or a model holding one as .rnn), got {name}")
    unsupported = []
    if getattr(layer, "proj_size", 0):
        unsupported.append(f"proj_size={layer.proj_size}")
    if layer.extensions.active:
        unsupported.append(layer.extensions.describe())
    if getattr(layer, "stateful", False):
        unsupported.append("stateful=True")
    if unsupported:
        raise RnnkitError(f"gradient_flow: {name} with {', '.join(unsupported)} is not supported")
    return layer.mode


def _weights(layer: nn.Module, mode: str, k: int, d: int) -> tuple:
    suffix = f"_l{k}" + ("_reverse" if d else "")
    stems = ("weight_ih", "bias_ih") if mode.startswith("Min") else (
        "weight_ih", "weight_hh", "bias_ih", "bias_hh")
    return tuple(getattr(layer, stem + suffix, None) for stem in stems)


def _run_forward(layer: nn.Module, mode: str, x: Tensor):
    """Time-major x (T, B, I) -> top output Y (T, B, D·H), final states, per-direction caches."""
    D = 2 if layer.bidirectional else 1
    inp, records, finals_h, finals_c = x, [], [], []
    for k in range(layer.num_layers):
        outs = []
        for d in range(D):
            w = _weights(layer, mode, k, d)
            xin = inp if d == 0 else inp.flip(0)  # the reverse direction reads t = T … 1
            hs, cache = steps.forward(mode, xin, w)  # (T, B, H) in processing order
            records.append((k, d, w, hs, cache))
            finals_h.append(hs[-1])
            if mode == "LSTM":
                finals_c.append(cache["c"][-1])
            outs.append(hs if d == 0 else hs.flip(0))
        inp = outs[0] if D == 1 else torch.cat(outs, -1)  # (T, B, D·H)
    h_n = torch.stack(finals_h)  # (L·D, B, H)
    state = (h_n, torch.stack(finals_c)) if mode == "LSTM" else h_n
    return inp, state, records


def _run_backward(layer: nn.Module, mode: str, records, dY: Tensor, d_state) -> dict[str, Tensor]:
    """dY (T, B, D·H) at the top and ∂L/∂(final states) -> {key: ∂L/∂h (T, B, H), time order}.

    ``d_state``: ∂L/∂h_n (L·D, B, H) (and ∂L/∂c_n for the LSTM, as a pair), or None; each
    row joins its layer-direction's last processed step.
    """
    D = 2 if layer.bidirectional else 1
    H = layer.hidden_size
    dh_n, dc_n = (d_state if isinstance(d_state, tuple) else (d_state, None))
    grads: dict[str, Tensor] = {}
    G_above = dY
    for k in reversed(range(layer.num_layers)):
        dX = None
        for k_, d, w, hs, cache in records:
            if k_ != k:
                continue
            G = G_above[..., d * H:(d + 1) * H]  # (T, B, H)
            G = G.clone() if d == 0 else G.flip(0)  # processing order
            if dh_n is not None:
                G[-1] += dh_n[k * D + d]  # h_n is the last processed h_t
            dc_last = dc_n[k * D + d] if dc_n is not None else None
            dh, dx = steps.backward(mode, hs, cache, G, w, dc_last)
            grads[f"l{k}" + ("_reverse" if d else "")] = dh if d == 0 else dh.flip(0)
            dx = dx if d == 0 else dx.flip(0)
            dX = dx if dX is None else dX + dx
        G_above = dX  # (T, B, I_k): what reaches the layer below's outputs
    return grads


def _readout_loss(kind: str, Y: Tensor) -> Tensor:
    """Y (T, B, F) time-major: mean_b u·y_t at the last step or averaged over all steps."""
    u_dot_y = Y.sum(-1) / Y.shape[-1] ** 0.5  # (T, B)
    return u_dot_y[-1].mean() if kind == "last" else u_dot_y.mean()


class _Replay(nn.Module):
    """Stands in for ``model.rnn`` inside ``compute_loss``: returns the precomputed output."""

    def __init__(self, x: Tensor, output: Tensor, state) -> None:
        super().__init__()
        self.x, self.output, self.state = x, output, state
        self.calls = 0

    def forward(self, x, hx=None):
        if not isinstance(x, Tensor) or x.shape != self.x.shape or hx is not None:
            raise RnnkitError("gradient_flow: the model's compute_loss must call model.rnn once "
                              "on the batch's input tensor (packed or padded batches, or an "
                              "initial state, are not supported)")
        self.calls += 1
        return self.output, self.state


def _batch_input(model: nn.Module, batch) -> Tensor:
    if isinstance(batch, Tensor):
        return batch
    if isinstance(batch, dict) and isinstance(batch.get("x"), Tensor):
        return batch["x"]
    if isinstance(batch, (tuple, list)) and batch and isinstance(batch[0], Tensor):
        return batch[0]
    raise RnnkitError(f"gradient_flow: batch must be a tensor x, (x, y, ...) or a dict with "
                      f"'x', got {type(batch).__name__}")


def gradient_flow(model: nn.Module, batch, *, loss: Loss = "auto",
                  fraction: float = 0.01) -> GradientFlow:
    """‖∂L/∂h_t‖ for every step, layer and direction, and the effective spans.

    ``model``: a layer or a task model (see the module docstring); ``batch``: the input x
    in the layer's layout ((B, T, I) when ``batch_first``, else (T, B, I)), or what the
    task model's ``compute_loss`` takes. Returns a :class:`GradientFlow`.
    """
    if not (isinstance(fraction, float) and 0 < fraction < 1):
        raise RnnkitError(f"gradient_flow: fraction must be a float in (0, 1), got {fraction!r}")
    grads, value = hidden_gradients(model, batch, loss=loss)
    norms = {key: torch.linalg.vector_norm(g, dim=(1, 2)).double().cpu().numpy()  # (T,)
             for key, g in grads.items()}
    norms = dict(sorted(norms.items(), key=lambda kv: _order(kv[0])))
    spans = {key: effective_span(n, fraction) for key, n in norms.items()}
    return GradientFlow(norms=norms, loss=value, fraction=fraction, spans=spans)


def in_float64(model: nn.Module, batch):
    """A float64 copy of ``model`` and ``batch`` (integer targets stay integers).

    Elman gradients fall below float32's smallest number (about 1e-45) within a hundred
    steps; measured in float64 the decay stays visible down to about 1e-308.
    """
    def cast(v):
        if isinstance(v, Tensor) and v.is_floating_point():
            return v.double()
        if isinstance(v, (tuple, list)):
            return type(v)(cast(u) for u in v)
        if isinstance(v, dict):
            return {k: cast(u) for k, u in v.items()}
        return v

    return copy.deepcopy(model).double(), cast(batch)


def _order(key: str) -> tuple[int, int]:
    return int(key[1:].split("_")[0]), key.endswith("_reverse")


def hidden_gradients(model: nn.Module, batch, *, loss: Loss = "auto") -> tuple[dict, float]:
    """({key: ∂L/∂h (T, B, H) in time order}, L): the tensors behind :func:`gradient_flow`."""
    task_model = not isinstance(model, (RNN, LSTM, GRU, MinGRU, MinLSTM)) and hasattr(model, "rnn")
    layer = model.rnn if task_model else model
    mode = layer_mode(layer)
    if isinstance(loss, str) and loss == "auto":
        loss = "task" if task_model else "last"
    if not (callable(loss) or loss in ("last", "every", "task")):
        raise RnnkitError(f"gradient_flow: loss must be 'auto', 'last', 'every' or a callable, "
                          f"got {loss!r}")
    if loss == "task" and not (task_model and hasattr(model, "compute_loss")):
        raise RnnkitError("gradient_flow: loss='auto' needs a model with compute_loss(batch); "
                          "pass loss='last', 'every' or a callable")
    x = _batch_input(model, batch)
    if x.dim() != 3 or x.shape[-1] != layer.input_size:
        raise RnnkitError(f"gradient_flow: the input must be 3-D with {layer.input_size} "
                          f"features, got shape {tuple(x.shape)}")
    batch_first = bool(layer.batch_first)
    with torch.no_grad():
        x_tm = x.transpose(0, 1) if batch_first else x  # (T, B, I)
        Y, state, records = _run_forward(layer, mode, x_tm.to(layer.weight_ih_l0.dtype))
    Y = Y.detach().requires_grad_(True)  # (T, B, D·H): autograd only for the loss head
    if isinstance(state, tuple):
        state = tuple(s.detach().requires_grad_(True) for s in state)
    else:
        state = state.detach().requires_grad_(True)
    leaves = [Y, *state] if isinstance(state, tuple) else [Y, state]
    with torch.enable_grad():
        out = Y.transpose(0, 1) if batch_first else Y
        if loss == "task":
            value = _task_loss(model, batch, x, out, state)
        elif callable(loss):
            value = loss(out)
        else:
            value = _readout_loss(loss, Y)
        if not isinstance(value, Tensor) or value.numel() != 1:
            raise RnnkitError("gradient_flow: the loss must be a scalar tensor")
        found = torch.autograd.grad(value, leaves, allow_unused=True)
    dY, *d_state = [torch.zeros_like(t) if g is None else g for t, g in zip(leaves, found)]
    with torch.no_grad():
        grads = _run_backward(layer, mode, records, dY, tuple(d_state) if len(d_state) == 2
                              else d_state[0])
    return grads, float(value.detach())


def _task_loss(model: nn.Module, batch, x: Tensor, out: Tensor, state) -> Tensor:
    """model.compute_loss(batch) with model.rnn replaced by a replay of ``out``."""
    replay = _Replay(x, out, state)
    saved = model.rnn
    try:
        model.rnn = replay
        value = model.compute_loss(batch)
    finally:
        model.rnn = saved
    if replay.calls != 1:
        raise RnnkitError("gradient_flow: the model's compute_loss must call model.rnn "
                          f"exactly once, it called it {replay.calls} times")
    return value

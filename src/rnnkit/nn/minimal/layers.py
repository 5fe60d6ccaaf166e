"""MinGRU and MinLSTM (Feng et al. 2024, "Were RNNs All We Needed?").

Both gates and the candidate depend on the input only, never on h_{t-1}, so a whole
sequence is one input projection (a single GEMM) followed by the linear recurrence
h_t = a_t ⊙ h_{t-1} + b_t, which :mod:`rnnkit.nn.minimal.scan` runs as a chunked scan with a
hand-written backward. Where the fused C++ kernels are built (:mod:`rnnkit.nn.kernels`),
:mod:`rnnkit.nn.minimal.fused` runs the projection's GEMMs and one fused pass over time
instead, with the same results.

MinGRU (gate order z, h̃; weights (2H, I)):

    z_t  = σ(W_z x_t + b_z)
    h̃_t  = g(W_h x_t + b_h)
    h_t  = (1 − z_t) ⊙ h_{t−1} + z_t ⊙ h̃_t

MinLSTM (gate order f, i, h̃; weights (3H, I)), with the paper's normalised gates:

    f_t = σ(W_f x_t + b_f),   i_t = σ(W_i x_t + b_i),   h̃_t = g(W_h x_t + b_h)
    f'_t = f_t / (f_t + i_t),  i'_t = i_t / (f_t + i_t)
    h_t  = f'_t ⊙ h_{t−1} + i'_t ⊙ h̃_t

Since f'_t + i'_t = 1, MinLSTM is MinGRU with z_t = i'_t, computed stably as
i'_t = σ(log σ(a_i) − log σ(a_f)) (no 0/0 when both gates saturate).

g is the paper's activation, which keeps the candidate positive (the log-space
form of the paper needs that; we keep it so results match the paper's model):

    g(x) = x + 0.5   if x ≥ 0
           σ(x)      otherwise

Glossary: x_t input (B, I); h_t state (B, H); σ the logistic sigmoid. Shapes:
input (T, B, I), or (B, T, I) with ``batch_first=True``, or unbatched (T, I);
``hx`` (D·L, B, H). Returns ``(output, h_n)`` like :class:`torch.nn.GRU`: output
(T, B, D·H) and h_n (D·L, B, H). MinLSTM has no separate cell state, so it returns
the same pair (not ``(h_n, c_n)``). ``stateful=True`` carries h_n (detached) into the
next call, as for rnnkit's LSTM/GRU (see :mod:`rnnkit.nn.extensions.stateful`).
Parameters ``weight_ih_l{k}`` / ``bias_ih_l{k}``
(``_reverse`` for the backward direction) are initialised from U(−1/√H, 1/√H) as
in torch. A ``PackedSequence`` input is supported: padded steps hold the state
(z = 0) and give a zero output, as in torch.

Equivalent plain loop for one layer and direction::

    h = h0
    for t in range(T):
        z = sigmoid(x[t] @ W_z.T + b_z); h = (1 - z) * h + z * g(x[t] @ W_h.T + b_h)

:meth:`step` runs that loop one step at a time with O(1) state, for streaming.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.rnn import PackedSequence

from rnnkit.nn.extensions import stateful as ext_stateful
from rnnkit.nn.minimal.fused import applies as min_layer_applies
from rnnkit.nn.minimal.fused import min_layer
from rnnkit.nn.minimal.scan import min_recurrence

__all__ = ["MinGRU", "MinLSTM", "g_activation"]


def g_activation(x: Tensor) -> Tensor:
    """g(x) = x + 0.5 for x ≥ 0, σ(x) otherwise (continuous, g(0) = 0.5, g' > 0)."""
    return torch.sigmoid(x.clamp(max=0.0)) + x.clamp(min=0.0)


class _MinRNNBase(nn.Module):
    _gates = 0  # G: 2 for MinGRU, 3 for MinLSTM

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, device=None, dtype=None, *,
                 stateful: bool = False) -> None:
        super().__init__()
        self.mode = type(self).__name__
        if not isinstance(hidden_size, int) or hidden_size <= 0:
            raise ValueError("hidden_size must be an integer greater than zero, "
                             f"got {hidden_size!r}")
        if not isinstance(num_layers, int) or num_layers <= 0:
            raise ValueError("num_layers must be an integer greater than zero, "
                             f"got {num_layers!r}")
        if not isinstance(dropout, (int, float)) or not 0 <= dropout <= 1 \
                or isinstance(dropout, bool):
            raise ValueError("dropout should be a number in range [0, 1] representing the "
                             f"probability of an element being zeroed, got {dropout!r}")
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout = bias, batch_first, float(dropout)
        self.bidirectional = bidirectional
        D = 2 if bidirectional else 1
        kw = {"device": device, "dtype": dtype}
        for layer in range(num_layers):
            layer_in = input_size if layer == 0 else D * hidden_size
            for suffix in ("", "_reverse")[:D]:
                self.register_parameter(f"weight_ih_l{layer}{suffix}", nn.Parameter(
                    torch.empty(self._gates * hidden_size, layer_in, **kw)))
                self.register_parameter(f"bias_ih_l{layer}{suffix}", nn.Parameter(
                    torch.empty(self._gates * hidden_size, **kw)) if bias else None)
        self.reset_parameters()
        if not isinstance(stateful, bool):
            raise ValueError(f"stateful must be True or False, got {stateful!r}")
        self.stateful = stateful
        if stateful:  # the final state becomes the next call's h0, detached
            ext_stateful.attach_stateful(self)

    def reset_state(self) -> None:
        """Forget the state carried between calls by ``stateful=True``."""
        ext_stateful.reset_state(self)

    def reset_parameters(self) -> None:
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        for name, default in (("bias", True), ("batch_first", False), ("dropout", 0.0),
                              ("bidirectional", False), ("stateful", False)):
            if getattr(self, name) != default:
                s += f", {name}={getattr(self, name)}"
        return s

    # --- gates -------------------------------------------------------------------
    def _z_and_candidate(self, proj: Tensor) -> tuple[Tensor, Tensor]:
        raise NotImplementedError

    def _params(self, layer: int, direction: int) -> tuple[Tensor, Tensor | None]:
        suffix = "_reverse" if direction else ""
        return (getattr(self, f"weight_ih_l{layer}{suffix}"),
                getattr(self, f"bias_ih_l{layer}{suffix}"))

    # --- whole sequence ----------------------------------------------------------
    def forward(self, input, hx: Tensor | None = None):
        packed = isinstance(input, PackedSequence)
        mask = None
        if packed:
            batch_sizes = input.batch_sizes
            x, lengths = torch.nn.utils.rnn.pad_packed_sequence(
                PackedSequence(input.data, batch_sizes), batch_first=False)  # (T, B, I)
            steps = torch.arange(x.shape[0], device=x.device)[:, None]  # (T, 1)
            mask = (steps < lengths.to(x.device)[None, :]).unsqueeze(-1).to(x.dtype)  # (T,B,1)
            if hx is not None and input.sorted_indices is not None:
                hx = hx.index_select(1, input.sorted_indices)
            unbatched = False
        else:
            x = input
            if x.dim() not in (2, 3):
                raise ValueError(f"{type(self).__name__}: Expected input to be 2D or 3D, "
                                 f"got {x.dim()}D input instead")
            unbatched = x.dim() == 2
            if unbatched:
                x = x.unsqueeze(1)
                if hx is not None:
                    if hx.dim() != 2:
                        raise RuntimeError("For unbatched 2-D input, hx should also be 2-D "
                                           f"but got {hx.dim()}-D tensor")
                    hx = hx.unsqueeze(1)
            elif self.batch_first:
                x = x.transpose(0, 1)
        if x.shape[-1] != self.input_size:
            raise RuntimeError(f"input.size(-1) must be equal to input_size. "
                               f"Expected {self.input_size}, got {x.shape[-1]}")
        B = x.shape[1]  # x is (T, B, I) here
        D, H = (2 if self.bidirectional else 1), self.hidden_size
        expected = (D * self.num_layers, B, H)
        if hx is None:
            hx = x.new_zeros(expected)
        elif tuple(hx.shape) != expected:
            raise RuntimeError(f"Expected hidden size {expected}, got {list(hx.shape)}")
        layer_in = x.contiguous()
        finals = []
        for layer in range(self.num_layers):
            outs = []
            for direction in range(D):
                w, b = self._params(layer, direction)
                h0 = hx[layer * D + direction]
                # padded steps hold the state (a = 1) inside the recurrence
                if min_layer_applies(layer_in, w):  # projection and scan in one Function
                    h = min_layer(layer_in, w, b, h0, mask, reverse=bool(direction))  # (T, B, H)
                else:
                    proj = F.linear(layer_in, w, b)  # (T, B, G·H)
                    h = min_recurrence(proj, h0, mask, reverse=bool(direction))  # (T, B, H)
                finals.append(h[0] if direction else h[-1])
                outs.append(h if mask is None else h * mask)
            layer_in = outs[0] if D == 1 else torch.cat(outs, -1)  # (T, B, D·H)
            if self.dropout and self.training and layer < self.num_layers - 1:
                layer_in = F.dropout(layer_in, self.dropout, True)
        h_n = torch.stack(finals, 0)  # (D·L, B, H)
        if packed:
            out = PackedSequence(torch.nn.utils.rnn.pack_padded_sequence(
                layer_in, lengths, enforce_sorted=True).data, input.batch_sizes,
                input.sorted_indices, input.unsorted_indices)
            if input.unsorted_indices is not None:
                h_n = h_n.index_select(1, input.unsorted_indices)
            return out, h_n
        if unbatched:
            return layer_in.squeeze(1), h_n.squeeze(1)
        return (layer_in.transpose(0, 1) if self.batch_first else layer_in), h_n

    # --- one step, O(1) state ----------------------------------------------------
    def step(self, x_t: Tensor, hx: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """One time step: x_t (B, I), hx (L, B, H) or None -> (y_t (B, H), h (L, B, H)).

        Feeding a sequence step by step gives the same numbers as :meth:`forward`.
        Only unidirectional models can stream.
        """
        if self.bidirectional:
            raise ValueError(f"{type(self).__name__}.step: a bidirectional model needs the "
                             "whole sequence; got bidirectional=True")
        if x_t.dim() != 2 or x_t.shape[-1] != self.input_size:
            raise ValueError(f"{type(self).__name__}.step: x_t must be (batch, "
                             f"{self.input_size}), got {list(x_t.shape)}")
        expected = (self.num_layers, x_t.shape[0], self.hidden_size)
        if hx is None:
            hx = x_t.new_zeros(expected)
        elif tuple(hx.shape) != expected:
            raise RuntimeError(f"Expected hidden size {expected}, got {list(hx.shape)}")
        layer_in, states = x_t, []
        for layer in range(self.num_layers):
            w, b = self._params(layer, 0)
            z, cand = self._z_and_candidate(F.linear(layer_in, w, b))  # (B, H) each
            h = torch.addcmul((1.0 - z) * hx[layer], z, cand)  # (B, H)
            states.append(h)
            layer_in = h
            if self.dropout and self.training and layer < self.num_layers - 1:
                layer_in = F.dropout(layer_in, self.dropout, True)
        return layer_in, torch.stack(states, 0)


class MinGRU(_MinRNNBase):
    """minGRU: z_t = σ(W_z x_t + b_z), h_t = (1 − z_t) ⊙ h_{t−1} + z_t ⊙ g(W_h x_t + b_h).

    Arguments and return values as :class:`torch.nn.GRU`; see the module docstring
    for the equations, g and the shapes. One keyword beyond torch's arguments:
    ``stateful`` (False): a call without ``hx`` starts from the previous call's h_n,
    detached; ``reset_state()`` goes back to zeros. :meth:`step` streams one step.

    Examples:
        >>> import torch
        >>> from rnnkit.nn import MinGRU
        >>> model = MinGRU(8, 16, num_layers=2, batch_first=True)
        >>> x = torch.randn(4, 100, 8)  # (B, T, I)
        >>> output, h_n = model(x)
        >>> output.shape, h_n.shape
        (torch.Size([4, 100, 16]), torch.Size([2, 4, 16]))
        >>> y_0, h = model.step(x[:, 0])  # one step at a time, O(1) state
        >>> torch.allclose(y_0, output[:, 0], atol=1e-5)
        True
    """
    _gates = 2

    def _z_and_candidate(self, proj: Tensor) -> tuple[Tensor, Tensor]:
        pre_z, pre_h = proj.chunk(2, dim=-1)  # (…, H) each
        return torch.sigmoid(pre_z), g_activation(pre_h)


class MinLSTM(_MinRNNBase):
    """minLSTM: h_t = f'_t ⊙ h_{t−1} + i'_t ⊙ g(W_h x_t + b_h), f' + i' = 1.

    f'_t = f_t / (f_t + i_t) and i'_t = i_t / (f_t + i_t) with f_t = σ(W_f x_t + b_f),
    i_t = σ(W_i x_t + b_i). Arguments as :class:`torch.nn.LSTM` (no ``proj_size``);
    returns ``(output, h_n)`` because there is no separate cell state. Beyond torch's
    arguments, ``stateful`` (False) makes a call without ``hx`` continue from the last
    h_n (detached) until ``reset_state()``.

    Examples:
        >>> import torch
        >>> from rnnkit.nn import MinLSTM
        >>> model = MinLSTM(8, 16, stateful=True)
        >>> output, h_n = model(torch.randn(50, 4, 8))  # (T, B, I)
        >>> output.shape, h_n.shape
        (torch.Size([50, 4, 16]), torch.Size([1, 4, 16]))
        >>> _ = model(torch.randn(50, 4, 8))  # continues from h_n
        >>> model.reset_state()
        >>> model
        MinLSTM(8, 16, stateful=True)
    """
    _gates = 3

    def _z_and_candidate(self, proj: Tensor) -> tuple[Tensor, Tensor]:
        pre_f, pre_i, pre_h = proj.chunk(3, dim=-1)  # (…, H) each
        # i' = i / (f + i) = σ(log σ(pre_i) − log σ(pre_f)), log σ(p) = −softplus(−p)
        z = torch.sigmoid(F.softplus(-pre_f) - F.softplus(-pre_i))
        return z, g_activation(pre_h)

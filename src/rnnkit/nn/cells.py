"""RNNCell, LSTMCell, GRUCell: one time step, drop-in for their torch.nn namesakes.

The step equations are in ``rnnkit.nn.functional`` (``rnn_cell``, ``lstm_cell``,
``gru_cell``); they are plain tensor ops and never call torch's fused cell kernels.
Parameters: ``weight_ih`` (G·H, I), ``weight_hh`` (G·H, H), ``bias_ih``, ``bias_hh`` (G·H,)
or None when ``bias=False``; all ~ U(-1/sqrt(H), 1/sqrt(H)).

Shapes: input (B, I) or (I,) unbatched; states (B, H) or (H,); zeros when omitted.
"""
from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from rnnkit.nn import functional
from rnnkit.nn.extensions import runner as ext_runner
from rnnkit.nn.extensions.options import Extensions

__all__ = ["RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]


class RNNCellBase(nn.Module):
    """Parameters, initialisation and input checks shared by the three cells."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool, num_chunks: int,
                 device=None, dtype=None, extensions: Extensions = Extensions()) -> None:
        super().__init__()
        factory = {"device": device, "dtype": dtype}
        self.extensions = extensions  # rnnkit extensions (docs/extensions.md)
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        self.weight_ih = nn.Parameter(torch.empty((num_chunks * hidden_size, input_size), **factory))
        self.weight_hh = nn.Parameter(torch.empty((num_chunks * hidden_size, hidden_size), **factory))
        if bias:
            self.bias_ih = nn.Parameter(torch.empty(num_chunks * hidden_size, **factory))
            self.bias_hh = nn.Parameter(torch.empty(num_chunks * hidden_size, **factory))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        if extensions.layer_norm:
            mode = {4: "LSTM", 3: "GRU"}[num_chunks]
            ext_runner.add_ln_parameters(self, mode, hidden_size, "", factory)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Every weight and bias ~ U(-k, k), k = 1/sqrt(hidden_size), as torch.nn."""
        bound = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            nn.init.uniform_(weight, -bound, bound)
        ext_runner.reset_ln_parameters(self)  # layer-norm gains 1, biases 0

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if getattr(self, "nonlinearity", "tanh") == "relu":
            s += f", nonlinearity={self.nonlinearity}"
        extensions = getattr(self, "extensions", Extensions())
        if extensions.active:
            s += ", " + extensions.describe()
        return s

    def _check_dims(self, input: Tensor, states: tuple, names: tuple) -> None:
        name = type(self).__name__
        if input.dim() not in (1, 2):
            raise ValueError(f"{name}: Expected input to be 1D or 2D, got {input.dim()}D instead")
        for label, state in zip(names, states):
            if state is not None and state.dim() not in (1, 2):
                raise ValueError(f"{name}: Expected {label} to be 1D or 2D, got {state.dim()}D instead")

    def _check_sizes(self, input: Tensor, states: tuple) -> None:
        """torch's kernel-level checks: input (B, I), each state (B, H)."""
        if input.size(1) != self.input_size:
            raise RuntimeError(
                f"input has inconsistent input_size: got {input.size(1)} expected {self.input_size}"
            )
        for k, state in enumerate(states):
            if input.size(0) != state.size(0):
                raise RuntimeError(
                    f"Input batch size {input.size(0)} doesn't match hidden{k} batch size {state.size(0)}"
                )
            if state.size(1) != self.hidden_size:
                raise RuntimeError(
                    f"hidden{k} has inconsistent hidden_size: got {state.size(1)}, expected {self.hidden_size}"
                )

    def _batched(self, input: Tensor, states: tuple):
        """Add the batch dimension to unbatched input; zeros for missing states."""
        is_batched = input.dim() == 2
        if not is_batched:
            input = input.unsqueeze(0)  # (1, I)
        zeros = input.new_zeros(input.size(0), self.hidden_size)  # (B, H)
        states = tuple(
            zeros if s is None else (s if is_batched else s.unsqueeze(0)) for s in states
        )
        return input, states, is_batched

    def torch_kernel_unsupported(self) -> str | None:
        """Why torch.nn's cell cannot compute this configuration, or None when it can.

        Extensions (layer norm, a custom nonlinearity) name themselves here.
        """
        extensions = getattr(self, "extensions", None)
        return extensions.describe() if extensions is not None and extensions.active else None

    def __prepare_scriptable__(self):
        """torch.jit.script scripts the equivalent torch.nn cell sharing these parameters."""
        return self.to_torch(share_parameters=True)

    def to_torch(self, share_parameters: bool = False) -> nn.Module:
        """The equivalent torch.nn cell, with copies of (or the same) parameters."""
        reason = self.torch_kernel_unsupported()
        if reason is not None:
            raise RuntimeError(f"{type(self).__name__} with {reason} has no torch.nn equivalent")
        cls = self._torch_class
        extra = {"nonlinearity": self.nonlinearity} if hasattr(self, "nonlinearity") else {}
        module = cls(self.input_size, self.hidden_size, self.bias, device=self.weight_ih.device,
                     dtype=self.weight_ih.dtype, **extra)
        if share_parameters:
            for name, param in self.named_parameters():
                setattr(module, name, param)
        else:
            module.load_state_dict(self.state_dict(), strict=True)
        return module.train(self.training)


class RNNCell(RNNCellBase):
    r"""Elman cell: h' = act(W_ih x + b_ih + W_hh h + b_hh), act = tanh or relu.

    Args: as ``torch.nn.RNNCell`` (input_size, hidden_size, bias=True,
    nonlinearity="tanh", device, dtype). Beyond torch, ``nonlinearity`` may be any
    elementwise callable f, giving h' = f(W_ih x + b_ih + W_hh h + b_hh); such a cell
    has no torch.nn equivalent (``to_torch()`` raises).

    Examples:
        >>> import torch
        >>> import torch.nn.functional as F
        >>> from rnnkit.nn import RNNCell
        >>> cell = RNNCell(8, 16)
        >>> x = torch.randn(5, 4, 8)  # (T, B, I)
        >>> h = torch.zeros(4, 16)
        >>> for x_t in x:
        ...     h = cell(x_t, h)  # (B, H)
        >>> h.shape
        torch.Size([4, 16])
        >>> RNNCell(8, 16, nonlinearity=F.gelu)(torch.randn(8)).shape  # unbatched
        torch.Size([16])
    """

    _torch_class = nn.RNNCell

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", device=None, dtype=None) -> None:
        # nonlinearity may also be any elementwise callable (rnnkit extension).
        custom = callable(nonlinearity) and not isinstance(nonlinearity, str)
        extensions = Extensions(nonlinearity=nonlinearity) if custom else Extensions()
        super().__init__(input_size, hidden_size, bias, 1, device, dtype, extensions)
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        self._check_dims(input, (hx,), ("hidden",))
        input, (hx,), is_batched = self._batched(input, (hx,))
        if self.extensions.active:  # a callable nonlinearity
            self._check_sizes(input, (hx,))
            (h,) = ext_runner.extended_cell(self, "RNN_TANH", input, (hx,))  # (B, H)
            return h if is_batched else h.squeeze(0)
        if self.nonlinearity not in ("tanh", "relu"):
            raise RuntimeError(f"Unknown nonlinearity: {self.nonlinearity}")
        self._check_sizes(input, (hx,))
        h = functional.rnn_cell(input, hx, self.weight_ih, self.weight_hh, self.bias_ih,
                                self.bias_hh, self.nonlinearity)  # (B, H)
        return h if is_batched else h.squeeze(0)


class LSTMCell(RNNCellBase):
    r"""LSTM cell (σ the sigmoid, ⊙ the elementwise product)::

        i, f, g, o = split(W_ih x + b_ih + W_hh h + b_hh)      4 × (B, H)
        c' = σ(f) ⊙ c + σ(i) ⊙ tanh(g)
        h' = σ(o) ⊙ tanh(c')

    Returns (h', c'). Args: as ``torch.nn.LSTMCell`` (input_size, hidden_size, bias=True,
    device, dtype), plus the keyword ``layer_norm`` (False): with True, W_ih x and W_hh h
    are layer-normalised separately and c' before its tanh (docs/extensions.md), with
    parameters ``ln_gain_ih``, ``ln_bias_ih``, ``ln_gain_hh``, ``ln_bias_hh``,
    ``ln_gain_c``, ``ln_bias_c``.

    Examples:
        >>> import torch
        >>> from rnnkit.nn import LSTMCell
        >>> cell = LSTMCell(8, 16, layer_norm=True)
        >>> h, c = cell(torch.randn(4, 8))  # zero states when omitted
        >>> h, c = cell(torch.randn(4, 8), (h, c))
        >>> h.shape, c.shape
        (torch.Size([4, 16]), torch.Size([4, 16]))
        >>> sorted(name for name, _ in cell.named_parameters() if name.startswith("ln_"))
        ['ln_bias_c', 'ln_bias_hh', 'ln_bias_ih', 'ln_gain_c', 'ln_gain_hh', 'ln_gain_ih']
    """

    _torch_class = nn.LSTMCell

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 device=None, dtype=None, *, layer_norm: bool = False) -> None:
        super().__init__(input_size, hidden_size, bias, 4, device, dtype,
                         Extensions.checked(layer_norm=layer_norm))

    def forward(self, input: Tensor, hx: tuple[Tensor, Tensor] | None = None) -> tuple[Tensor, Tensor]:
        states = (None, None) if hx is None else tuple(hx)
        self._check_dims(input, states, ("hx[0]", "hx[1]"))
        input, states, is_batched = self._batched(input, states)
        self._check_sizes(input, states)
        if self.extensions.active:  # layer norm (rnnkit.nn.extensions.layernorm)
            h, c = ext_runner.extended_cell(self, "LSTM", input, states)
            return (h, c) if is_batched else (h.squeeze(0), c.squeeze(0))
        h, c = functional.lstm_cell(input, *states, self.weight_ih, self.weight_hh,
                                    self.bias_ih, self.bias_hh)  # (B, H) each
        return (h, c) if is_batched else (h.squeeze(0), c.squeeze(0))


class GRUCell(RNNCellBase):
    r"""GRU cell (r sits inside n, as in torch)::

        r = σ(W_ir x + b_ir + W_hr h + b_hr)
        z = σ(W_iz x + b_iz + W_hz h + b_hz)
        n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))
        h' = (1 - z) ⊙ n + z ⊙ h

    Args: as ``torch.nn.GRUCell`` (input_size, hidden_size, bias=True, device, dtype),
    plus the keyword ``layer_norm`` (False): with True, W_ih x + b_ih and W_hh h + b_hh
    each pass through their own layer norm before the gates (docs/extensions.md).

    Examples:
        >>> import torch
        >>> from rnnkit.nn import GRUCell
        >>> cell = GRUCell(8, 16)
        >>> h = cell(torch.randn(4, 8))  # (B, H), from h = 0
        >>> cell(torch.randn(4, 8), h).shape
        torch.Size([4, 16])
        >>> plain = torch.nn.GRUCell(8, 16)
        >>> cell.load_state_dict(plain.state_dict())  # torch's names and shapes
        <All keys matched successfully>
        >>> x = torch.randn(4, 8)
        >>> torch.allclose(cell(x), plain(x), atol=1e-6)
        True
    """

    _torch_class = nn.GRUCell

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 device=None, dtype=None, *, layer_norm: bool = False) -> None:
        super().__init__(input_size, hidden_size, bias, 3, device, dtype,
                         Extensions.checked(layer_norm=layer_norm))

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        self._check_dims(input, (hx,), ("hidden",))
        input, (hx,), is_batched = self._batched(input, (hx,))
        self._check_sizes(input, (hx,))
        if self.extensions.active:  # layer norm (rnnkit.nn.extensions.layernorm)
            (h,) = ext_runner.extended_cell(self, "GRU", input, (hx,))
            return h if is_batched else h.squeeze(0)
        h = functional.gru_cell(input, hx, self.weight_ih, self.weight_hh, self.bias_ih,
                                self.bias_hh)  # (B, H)
        return h if is_batched else h.squeeze(0)

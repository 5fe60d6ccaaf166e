"""RNN: a drop-in ``torch.nn.RNN`` (Elman network) written from its equation."""
from __future__ import annotations

import warnings

from torch import Tensor, nn

from rnnkit.nn.base import RNNBase

__all__ = ["RNN"]


class RNN(RNNBase):
    r"""Multi-layer Elman RNN with tanh or ReLU, same arguments and results as ``torch.nn.RNN``.

    Each layer computes, for t = 1 … T::

        h_t = act(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh),   act = tanh or relu

    Layers, dropout between layers and directions work as in ``LSTM``.

    Args: as ``torch.nn.RNN`` (input_size, hidden_size, num_layers=1, nonlinearity="tanh",
    bias=True, batch_first=False, dropout=0.0, bidirectional=False, device, dtype);
    ``proj_size`` raises ValueError, as in torch. Beyond torch (defaults: torch's RNN;
    docs/extensions.md):

    - ``nonlinearity``: "tanh" or "relu" as in torch, or any elementwise callable f
      (``torch.nn.functional.gelu``, ...), giving h_t = f(W_ih x_t + b_ih + W_hh h_{t-1}
      + b_hh).
    - ``backend`` ("auto"): "rnnkit" for this package's BPTT, "torch" for torch's fused
      kernel, "auto" for the faster correct one (docs/nn.md); a callable nonlinearity,
      recurrent dropout or zoneout needs "rnnkit", and "torch" refuses them.
    - ``recurrent_dropout`` (0.0): h_{t-1} is multiplied by one dropout mask per
      sequence, layer and direction before W_hh, in training mode.
    - ``zoneout`` (0.0): the probability that a unit keeps h_{t-1} instead of the new
      value; in eval mode the two are mixed by that probability.
    - ``stateful`` (False): without ``hx`` a call resumes from the preceding call's
      detached h_n; ``reset_state()`` clears it.

    Shapes (D = 2 if bidirectional else 1, L = num_layers):

    - input: (T, B, I), or (B, T, I) when batch_first, or (T, I) unbatched, or a PackedSequence;
    - h_0 and h_n: (D·L, B, H) or (D·L, H) unbatched; h_0 defaults to zeros;
    - output: (T, B, D·H), (B, T, D·H) when batch_first, or (T, D·H); packed when the input is.

    Parameters: ``weight_ih_l{k}`` (H, I_k), ``weight_hh_l{k}`` (H, H), ``bias_ih_l{k}``,
    ``bias_hh_l{k}`` (H,); ``_reverse`` for the backward direction. All ~ U(-1/sqrt(H), 1/sqrt(H)).

    Examples:
        >>> import torch
        >>> import torch.nn.functional as F
        >>> from rnnkit.nn import RNN
        >>> rnn = RNN(10, 20, num_layers=2, nonlinearity="relu")
        >>> output, h_n = rnn(torch.randn(5, 3, 10))  # (T, B, I)
        >>> output.shape, h_n.shape
        (torch.Size([5, 3, 20]), torch.Size([2, 3, 20]))
        >>> gelu = RNN(10, 20, nonlinearity=F.gelu, zoneout=0.1)
        >>> gelu
        RNN(10, 20, zoneout=0.1, nonlinearity=gelu)
        >>> gelu(torch.randn(5, 10))[0].shape  # unbatched (T, I)
        torch.Size([5, 20])
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        nonlinearity: str = "tanh",
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        device=None,
        dtype=None,
        *,
        backend: str = "auto",
        recurrent_dropout: float = 0.0,
        zoneout: float = 0.0,
        stateful: bool = False,
        **kwargs,
    ) -> None:
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        if kwargs:
            raise TypeError(f"RNN.__init__() got an unexpected keyword argument '{next(iter(kwargs))}'")
        # Any elementwise callable is accepted too (rnnkit extension, docs/extensions.md).
        if nonlinearity not in ("tanh", "relu") and not callable(nonlinearity):
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'.")
        self.nonlinearity = nonlinearity
        mode = "RNN_RELU" if nonlinearity == "relu" else "RNN_TANH"
        super().__init__(
            mode, input_size, hidden_size, num_layers, bias, batch_first, dropout,
            bidirectional, 0, device, dtype, backend=backend, recurrent_dropout=recurrent_dropout,
            zoneout=zoneout, nonlinearity=nonlinearity, stateful=stateful,
        )

    def forward(self, input, hx: Tensor | None = None):
        return self._forward_one_state(
            input, hx, "RNN: Expected input to be 2D or 3D, got {}D tensor instead"
        )

    def extra_repr(self) -> str:
        s = super().extra_repr()
        if self.nonlinearity == "relu":  # a callable is named by the extensions part
            s += f", nonlinearity={self.nonlinearity!r}"
        return s

    def to_torch(self, share_parameters: bool = False) -> nn.RNN:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the dropout/num_layers warning was given already
            module = nn.RNN(
                self.input_size, self.hidden_size, self.num_layers, self.nonlinearity, self.bias,
                self.batch_first, self.dropout, self.bidirectional,
            )
        return self._copy_into(module, share_parameters)

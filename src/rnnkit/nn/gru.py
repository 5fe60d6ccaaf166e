"""GRU: a drop-in ``torch.nn.GRU`` written from the gate equations."""
from __future__ import annotations

import warnings

from torch import Tensor, nn

from rnnkit.nn.base import RNNBase

__all__ = ["GRU"]


class GRU(RNNBase):
    r"""Multi-layer gated recurrent unit, same arguments and results as ``torch.nn.GRU``.

    Each layer computes, for t = 1 … T (σ the sigmoid, ⊙ the elementwise product)::

        r_t = σ(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)
        z_t = σ(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)
        n_t = tanh(W_in x_t + b_in + r_t ⊙ (W_hn h_{t-1} + b_hn))
        h_t = (1 - z_t) ⊙ n_t + z_t ⊙ h_{t-1}

    The reset gate multiplies W_hn h_{t-1} + b_hn (torch's and cuDNN's placement), not
    h_{t-1}. Layers, dropout between layers and directions work as in ``LSTM``.

    Args: as ``torch.nn.GRU`` (input_size, hidden_size, num_layers=1, bias=True,
    batch_first=False, dropout=0.0, bidirectional=False, device, dtype); ``proj_size``
    raises ValueError, as in torch. rnnkit adds these keywords, whose defaults give
    torch's GRU exactly (equations in docs/extensions.md):

    - ``backend`` ("auto"): which code runs, "rnnkit" (hand-written BPTT), "torch" (its
      fused kernel) or "auto" (the faster correct one, docs/nn.md); with an extension
      below only "rnnkit" can, and ``backend="torch"`` raises.
    - ``layer_norm`` (False): W_ih x_t + b_ih and W_hh h_{t-1} + b_hh each pass through
      their own layer norm before the gates (Ba et al. 2016).
    - ``recurrent_dropout`` (0.0): one dropout mask per sequence, layer and direction
      on the h_{t-1} that enters W_hh; z ⊙ h_{t-1} keeps the undropped state.
    - ``zoneout`` (0.0): each unit of h_t keeps h_{t-1} with this probability at each
      step (Krueger et al. 2017), its expectation in eval mode.
    - ``stateful`` (False): calls without ``hx`` continue from the last h_n (detached)
      until ``reset_state()``.

    Shapes (D = 2 if bidirectional else 1, L = num_layers):

    - input: (T, B, I), or (B, T, I) when batch_first, or (T, I) unbatched, or a PackedSequence;
    - h_0 and h_n: (D·L, B, H) or (D·L, H) unbatched; h_0 defaults to zeros;
    - output: (T, B, D·H), (B, T, D·H) when batch_first, or (T, D·H); packed when the input is.

    Parameters: ``weight_ih_l{k}`` (3H, I_k) = [W_ir | W_iz | W_in], ``weight_hh_l{k}``
    (3H, H), ``bias_ih_l{k}``, ``bias_hh_l{k}`` (3H,); ``_reverse`` for the backward
    direction. All ~ U(-1/sqrt(H), 1/sqrt(H)).

    Examples:
        >>> import torch
        >>> from rnnkit.nn import GRU
        >>> gru = GRU(10, 20, bidirectional=True, batch_first=True)
        >>> output, h_n = gru(torch.randn(3, 5, 10))  # (B, T, I)
        >>> output.shape, h_n.shape  # (B, T, 2H), (2, B, H)
        (torch.Size([3, 5, 40]), torch.Size([2, 3, 20]))
        >>> stream = GRU(10, 20, recurrent_dropout=0.25, stateful=True)
        >>> _ = stream(torch.randn(7, 3, 10))  # the next call starts from this h_n
        >>> _, h_n = stream(torch.randn(7, 3, 10))
        >>> stream.reset_state()
        >>> stream
        GRU(10, 20, recurrent_dropout=0.25, stateful=True)
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        device=None,
        dtype=None,
        *,
        backend: str = "auto",
        layer_norm: bool = False,
        recurrent_dropout: float = 0.0,
        zoneout: float = 0.0,
        stateful: bool = False,
        **kwargs,
    ) -> None:
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        if kwargs:
            raise TypeError(f"GRU.__init__() got an unexpected keyword argument '{next(iter(kwargs))}'")
        super().__init__(
            "GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout,
            bidirectional, 0, device, dtype, backend=backend, layer_norm=layer_norm,
            recurrent_dropout=recurrent_dropout, zoneout=zoneout, stateful=stateful,
        )

    def forward(self, input, hx: Tensor | None = None):
        return self._forward_one_state(input, hx, "GRU: Expected input to be 2D or 3D, got {}D instead")

    def to_torch(self, share_parameters: bool = False) -> nn.GRU:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the dropout/num_layers warning was given already
            module = nn.GRU(
                self.input_size, self.hidden_size, self.num_layers, self.bias, self.batch_first,
                self.dropout, self.bidirectional,
            )
        return self._copy_into(module, share_parameters)

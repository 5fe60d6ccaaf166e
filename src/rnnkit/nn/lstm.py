"""LSTM: a drop-in ``torch.nn.LSTM`` written from the gate equations."""
from __future__ import annotations

import warnings

from torch import Tensor, nn
from torch.nn.utils.rnn import PackedSequence

from rnnkit.nn.base import RNNBase
from rnnkit.nn.packing import permute, unpack_input

__all__ = ["LSTM"]


class LSTM(RNNBase):
    r"""Multi-layer long short-term memory, same arguments and results as ``torch.nn.LSTM``.

    Each layer computes, for t = 1 … T (σ the sigmoid, ⊙ the elementwise product)::

        i_t = σ(W_ii x_t + b_ii + W_hi h_{t-1} + b_hi)
        f_t = σ(W_if x_t + b_if + W_hf h_{t-1} + b_hf)
        g_t = tanh(W_ig x_t + b_ig + W_hg h_{t-1} + b_hg)
        o_t = σ(W_io x_t + b_io + W_ho h_{t-1} + b_ho)
        c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t
        h_t = o_t ⊙ tanh(c_t)            then h_t = W_hr h_t when proj_size > 0

    Layer k > 0 reads the output of layer k-1, passed through dropout (probability
    ``dropout``) in training mode. Bidirectional layers run a second pass from t = T to 1
    and concatenate the two outputs.

    Args: as ``torch.nn.LSTM`` (input_size, hidden_size, num_layers=1, bias=True,
    batch_first=False, dropout=0.0, bidirectional=False, proj_size=0, device, dtype), plus
    these keywords; their defaults give torch's layer exactly (equations in
    docs/extensions.md; the extensions do not combine with ``proj_size``):

    - ``backend`` ("auto"): "rnnkit" runs this package's hand-written BPTT, "torch"
      torch's fused kernel, "auto" the faster correct one (docs/nn.md). An LSTM with an
      extension below always runs "rnnkit"; asking for "torch" then raises.
    - ``layer_norm`` (False): layer-normalise W_ih x_t and W_hh h_{t-1} separately, and
      c_t before its tanh (Ba et al. 2016), with parameters ``ln_gain_*``/``ln_bias_*``.
    - ``recurrent_dropout`` (0.0): drop units of h_{t-1} where it enters W_hh, with one
      mask per sequence, layer and direction (Gal & Ghahramani 2016); training only.
    - ``zoneout`` (0.0): probability that a unit of h_t, and of c_t with a mask of its
      own, keeps its previous value (Krueger et al. 2017); evaluation mixes by p.
    - ``stateful`` (False): a call without ``hx`` starts from the previous call's
      (h_n, c_n), detached; ``reset_state()`` goes back to zeros.

    Shapes (D = 2 if bidirectional else 1, L = num_layers, H_out = proj_size or hidden_size):

    - input: (T, B, I), or (B, T, I) when batch_first, or (T, I) unbatched, or a PackedSequence;
    - h_0: (D·L, B, H_out) or (D·L, H_out); c_0: (D·L, B, H) or (D·L, H); zeros when omitted;
    - output: (T, B, D·H_out), (B, T, D·H_out) when batch_first, or (T, D·H_out); packed
      when the input is;
    - h_n, c_n: shaped like h_0, c_0.

    Parameters: ``weight_ih_l{k}`` (4H, I_k) = [W_ii | W_if | W_ig | W_io], ``weight_hh_l{k}``
    (4H, H_out), ``bias_ih_l{k}``, ``bias_hh_l{k}`` (4H,), ``weight_hr_l{k}`` (H_out, H) when
    projected; ``_reverse`` for the backward direction. All ~ U(-1/sqrt(H), 1/sqrt(H)).

    Equivalent plain loop (one layer, one direction, no projection)::

        h, c = h0, c0
        for x_t in x:
            i, f, g, o = (x_t @ w_ih.T + b_ih + h @ w_hh.T + b_hh).chunk(4, -1)
            c = f.sigmoid() * c + i.sigmoid() * g.tanh()
            h = o.sigmoid() * c.tanh()

    Examples:
        >>> import torch
        >>> from rnnkit.nn import LSTM
        >>> lstm = LSTM(10, 20, num_layers=2)
        >>> x = torch.randn(5, 3, 10)  # (T, B, I)
        >>> output, (h_n, c_n) = lstm(x)
        >>> output.shape, h_n.shape, c_n.shape
        (torch.Size([5, 3, 20]), torch.Size([2, 3, 20]), torch.Size([2, 3, 20]))
        >>> lstm.load_state_dict(torch.nn.LSTM(10, 20, num_layers=2).state_dict())
        <All keys matched successfully>
        >>> ext = LSTM(10, 20, batch_first=True, layer_norm=True, zoneout=0.1)
        >>> ext, ext.resolved_backend()
        (LSTM(10, 20, batch_first=True, layer_norm=True, zoneout=0.1), 'rnnkit')
        >>> ext(torch.randn(3, 5, 10))[0].shape  # (B, T, H)
        torch.Size([3, 5, 20])
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
        proj_size: int = 0,
        device=None,
        dtype=None,
        *,
        backend: str = "auto",
        layer_norm: bool = False,
        recurrent_dropout: float = 0.0,
        zoneout: float = 0.0,
        stateful: bool = False,
    ) -> None:
        super().__init__(
            "LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout,
            bidirectional, proj_size, device, dtype, backend=backend, layer_norm=layer_norm,
            recurrent_dropout=recurrent_dropout, zoneout=zoneout, stateful=stateful,
        )

    def check_forward_args(self, input: Tensor, hidden: tuple, batch_sizes: Tensor | None) -> None:
        self.check_input(input, batch_sizes)
        expected_h = self.expected_state_size(input, batch_sizes)
        self.check_hidden_size(hidden[0], expected_h, "Expected hidden[0] size {}, got {}")
        expected_c = self.expected_state_size(input, batch_sizes, cell=True)
        self.check_hidden_size(hidden[1], expected_c, "Expected hidden[1] size {}, got {}")

    def _zeros(self, input: Tensor, batch: int) -> tuple[Tensor, Tensor]:
        layers = self.num_layers * (2 if self.bidirectional else 1)
        out_size = self.proj_size if self.proj_size > 0 else self.hidden_size
        h0 = input.new_zeros(layers, batch, out_size)  # (L·D, B, H_out)
        c0 = input.new_zeros(layers, batch, self.hidden_size)  # (L·D, B, H)
        return h0, c0

    def forward(self, input, hx: tuple[Tensor, Tensor] | None = None):
        data, batch_sizes, sorted_indices, unsorted_indices = unpack_input(input)
        is_batched = True
        batch_dim = 0 if self.batch_first else 1
        if batch_sizes is not None:
            # torch leaves this case to its C++ kernel; we check first, in torch's words.
            if hx is None:
                hx = self._zeros(data, int(batch_sizes[0]))
                self.check_forward_args(data, hx, batch_sizes)
            else:
                self.check_forward_args(data, hx, batch_sizes)
                hx = permute(hx, sorted_indices)
        else:
            if data.dim() not in (2, 3):
                raise ValueError(f"LSTM: Expected input to be 2D or 3D, got {data.dim()}D instead")
            is_batched = data.dim() == 3
            if not is_batched:
                data = data.unsqueeze(batch_dim)  # (T, 1, I) or (1, T, I)
            if hx is None:
                hx = self._zeros(data, data.size(batch_dim))
            elif is_batched:
                if hx[0].dim() != 3 or hx[1].dim() != 3:
                    raise RuntimeError(
                        "For batched 3-D input, hx and cx should also be 3-D but got "
                        f"({hx[0].dim()}-D, {hx[1].dim()}-D) tensors"
                    )
            else:
                if hx[0].dim() != 2 or hx[1].dim() != 2:
                    raise RuntimeError(
                        "For unbatched 2-D input, hx and cx should also be 2-D but got "
                        f"({hx[0].dim()}-D, {hx[1].dim()}-D) tensors"
                    )
                hx = (hx[0].unsqueeze(1), hx[1].unsqueeze(1))  # (L·D, 1, ·)
            self.check_forward_args(data, hx, batch_sizes)
        output, hidden = self.run(data, tuple(hx), batch_sizes)
        if batch_sizes is not None:
            packed = PackedSequence(output, batch_sizes, sorted_indices, unsorted_indices)
            return packed, permute(hidden, unsorted_indices)
        if not is_batched:
            return output.squeeze(batch_dim), (hidden[0].squeeze(1), hidden[1].squeeze(1))
        return output, hidden

    def to_torch(self, share_parameters: bool = False) -> nn.LSTM:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the dropout/num_layers warning was given already
            module = nn.LSTM(
                self.input_size, self.hidden_size, self.num_layers, self.bias, self.batch_first,
                self.dropout, self.bidirectional, self.proj_size,
            )
        return self._copy_into(module, share_parameters)

"""A general recurrent model: RNN/LSTM/GRU layers plus a many-to-one or many-to-many head.

Equations (one layer shown; stacked layers feed h_t^{(l)} to layer l+1, with dropout
between layers; a bidirectional layer concatenates both directions, D = 2)::

    h_t = f(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)     (rnn; lstm/gru use their gates)

Heads, on the top layer's outputs o_t = [h_t^fwd ; h_t^bwd]  (B, T, D*H):

- ``"last"``  (many-to-one): z = W_hy [h_T^fwd ; h_1^bwd] + b_y, where T is each
  sequence's own last valid step (padding is skipped by packing);
- ``"mean"``  (many-to-one): z = W_hy (sum_t m_t o_t / sum_t m_t) + b_y, m the
  valid-step mask (masked mean pooling);
- ``"sequence"`` (many-to-many): z_t = W_hy o_t + b_y at every step.

``forward`` returns y = g(z) with g the ``output_activation`` (identity, sigmoid,
tanh or softmax). ``compute_loss`` uses z directly for ``cross_entropy`` and ``bce``
(numerically stable log-softmax / log-sigmoid) and y otherwise.

Inputs: ``x`` is (B, T, I) (batch first), with optional ``lengths`` (B,) for padded
batches. Batches for ``compute_loss``: ``(x, y)``, ``(x, y, lengths)`` or a dict
with keys ``x``, ``y`` and optionally ``lengths``. Targets: (B, O) for the
many-to-one heads, (B, T, O) for ``sequence``; class indices (B,) or (B, T) for
``cross_entropy`` (padding steps, and targets equal to -100, are ignored).
"""
from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from rnnkit.errors import ConfigError
from rnnkit.models.layers import recurrent_layer

__all__ = ["RecurrentModel", "HEADS", "LOSSES", "ACTIVATIONS"]

HEADS = ("last", "mean", "sequence")
LOSSES = ("mse", "l1", "huber", "cross_entropy", "bce")
ACTIVATIONS = ("identity", "sigmoid", "tanh", "softmax")


def _choice(name: str, value: str, options: tuple) -> str:
    if value not in options:
        raise ConfigError(f"model.{name} must be one of {', '.join(options)}, got {value!r}")
    return value


class RecurrentModel(nn.Module):
    """Recurrent layers + linear head; see the module docstring for the equations."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        output_size: int,
        cell: str = "lstm",
        num_layers: int = 1,
        bidirectional: bool = False,
        dropout: float = 0.0,
        head: str = "last",
        output_activation: str = "identity",
        loss: str = "mse",
        nonlinearity: str = "tanh",
    ) -> None:
        super().__init__()
        for name, v in (("input_size", input_size), ("hidden_size", hidden_size),
                        ("output_size", output_size), ("num_layers", num_layers)):
            if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
                raise ConfigError(f"model.{name} must be a positive integer, got {v!r}")
        if not 0.0 <= dropout < 1.0:
            raise ConfigError(f"model.dropout must be in [0, 1), got {dropout!r}")
        self.head = _choice("head", head, HEADS)
        self.loss_name = _choice("loss", loss, LOSSES)
        self.output_activation = _choice("output_activation", output_activation, ACTIVATIONS)
        self.cell = cell
        self.model_config = dict(
            input_size=input_size, hidden_size=hidden_size, output_size=output_size, cell=cell,
            num_layers=num_layers, bidirectional=bidirectional, dropout=dropout, head=head,
            output_activation=output_activation, loss=loss, nonlinearity=nonlinearity,
        )
        extra = {"nonlinearity": nonlinearity} if cell == "rnn" else {}
        self.rnn = recurrent_layer(
            cell, input_size, hidden_size, num_layers=num_layers, batch_first=True,
            bidirectional=bidirectional, dropout=dropout if num_layers > 1 else 0.0, **extra,
        )
        self.num_directions = 2 if bidirectional else 1
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(self.num_directions * hidden_size, output_size)

    @classmethod
    def from_config(cls, config: dict) -> "RecurrentModel":
        """Rebuild from ``model_config`` (what checkpoints save as model.json)."""
        return cls(**config)

    # ----------------------------------------------------------------- forward
    def _encode(self, x: Tensor, lengths: Optional[Tensor]) -> tuple[Tensor, Tensor, Optional[Tensor]]:
        """Top-layer outputs (B, T, D*H), final states (B, D*H), valid mask (B, T) or None."""
        if x.dim() != 3:
            raise ValueError(f"x must be (B, T, I), got shape {tuple(x.shape)}")
        B, T, _ = x.shape
        if lengths is None:
            out, h_n = self.rnn(x)  # (B, T, D*H)
            mask = None
        else:
            lengths_cpu = lengths.detach().to("cpu", torch.int64)
            packed = pack_padded_sequence(x, lengths_cpu, batch_first=True, enforce_sorted=False)
            out_packed, h_n = self.rnn(packed)
            out, _ = pad_packed_sequence(out_packed, batch_first=True, total_length=T)  # (B, T, D*H)
            steps = torch.arange(T, device=x.device)  # (T,)
            mask = steps[None, :] < lengths.to(x.device)[:, None]  # (B, T)
        if isinstance(h_n, tuple):  # LSTM: (h_n, c_n)
            h_n = h_n[0]
        # h_n: (L*D, B, H); the top layer's directions are the last D rows.
        top = h_n[-self.num_directions :]  # (D, B, H)
        final = top.transpose(0, 1).reshape(B, -1)  # (B, D*H)
        return out, final, mask

    def logits(self, x: Tensor, lengths: Optional[Tensor] = None) -> Tensor:
        """z before the output activation: (B, O) or (B, T, O) for the sequence head."""
        out, final, mask = self._encode(x, lengths)
        if self.head == "last":
            features = final  # (B, D*H)
        elif self.head == "mean":
            if mask is None:
                features = out.mean(dim=1)  # (B, D*H)
            else:
                m = mask.unsqueeze(-1).to(out.dtype)  # (B, T, 1)
                features = (out * m).sum(dim=1) / m.sum(dim=1).clamp_min(1.0)  # (B, D*H)
        else:
            features = out  # (B, T, D*H)
        return self.fc(self.dropout(features))

    def activate(self, z: Tensor) -> Tensor:
        """y = g(z)."""
        if self.output_activation == "sigmoid":
            return torch.sigmoid(z)
        if self.output_activation == "tanh":
            return torch.tanh(z)
        if self.output_activation == "softmax":
            return torch.softmax(z, dim=-1)
        return z

    def forward(self, x: Tensor, lengths: Optional[Tensor] = None) -> Tensor:
        return self.activate(self.logits(x, lengths))

    # -------------------------------------------------------------------- loss
    def compute_loss(self, batch) -> Tensor:
        x, y, lengths = _unpack(batch)
        z = self.logits(x, lengths)
        mask = None
        if self.head == "sequence" and lengths is not None:
            steps = torch.arange(z.shape[1], device=z.device)
            mask = steps[None, :] < lengths.to(z.device)[:, None]  # (B, T)
        if self.loss_name == "cross_entropy":
            target = y.long()
            if mask is not None:
                target = target.masked_fill(~mask, -100)
            return F.cross_entropy(z.reshape(-1, z.shape[-1]), target.reshape(-1), ignore_index=-100)
        if self.loss_name == "bce":
            per = F.binary_cross_entropy_with_logits(z, y.to(z.dtype).reshape(z.shape), reduction="none")
        else:
            pred = self.activate(z)
            target = y.to(pred.dtype).reshape(pred.shape)
            fn = {"mse": F.mse_loss, "l1": F.l1_loss, "huber": F.huber_loss}[self.loss_name]
            per = fn(pred, target, reduction="none")
        if mask is None:
            return per.mean()
        m = mask.unsqueeze(-1).to(per.dtype).expand_as(per)  # (B, T, O)
        return (per * m).sum() / m.sum().clamp_min(1.0)


def _unpack(batch) -> tuple[Tensor, Tensor, Optional[Tensor]]:
    if isinstance(batch, dict):
        return batch["x"], batch["y"], batch.get("lengths")
    if isinstance(batch, (tuple, list)) and len(batch) in (2, 3):
        return batch[0], batch[1], batch[2] if len(batch) == 3 else None
    raise TypeError(
        f"RecurrentModel.compute_loss expects (x, y), (x, y, lengths) or a dict with x, y, got {type(batch).__name__}"
    )

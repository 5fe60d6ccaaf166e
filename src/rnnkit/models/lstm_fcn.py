"""LSTM-FCN-style hybrid classifier: a recurrent branch beside a convolutional one.

After Karim et al. (2017, LSTM-FCN; 2019, MLSTM-FCN for multivariate series), written for
variable-length batches. For a sequence x (T its own length, F features)::

    conv branch   u_0 = x                                             (F, T)
                  u_k = relu(BN_k(conv_k(u_{k-1}))) * m              k = 1..3, (N_k, T)
                        conv_k: kernel K_k, zero "same" padding; m_t = 1 for t < T else 0
                  u_k <- u_k * sigmoid(W2 relu(W1 mean_t u_k))       squeeze-excite, k = 1, 2
                                                                       (when F > 1, MLSTM-FCN)
                  g   = (1/T) sum_{t<T} u_3[:, t]                     global average pool, (N_3,)
    rnn branch    v   = mean of x over windows of s steps             (ceil(T/s), F); s = rnn_stride
                  y   = RNN(v)                                        (ceil(T/s), D*H)
                  r   = [h_last^fwd ; h_first^bwd]  or  mean_t y_t    (D*H,)   pooling last / mean
    head          logits = W_o dropout([g ; r]) + b_o                 (C,)
    loss          cross_entropy(logits, target, label_smoothing=eps)

BN_k is batch normalisation whose training statistics are taken over the valid steps
only (:class:`MaskedBatchNorm1d`), so padding never enters a statistic, a convolution
(padded steps are zero, as the "same" padding of the sequence alone), a mean or a
recurrence (packed): a padded batch gives each sequence the logits it gets alone.

The original LSTM-FCN feeds its LSTM the univariate series as ONE step of T features
("dimension shuffle"); that cannot take variable lengths, so here the recurrent layer
reads the series in time order, averaged over windows of ``rnn_stride`` steps, which
keeps long series (hundreds to thousands of steps) cheap: s = 1 reads every step.

Ensemble (``members`` K > 1): K independent hybrids in one module; the loss is the sum of
their losses and the model predicts the mean of their probabilities,
``forward = log((1/K) sum_k softmax(l_k))``, as :class:`rnnkit.models.classifier.SequenceClassifier`.

Input standardisation (``input_mean``, ``input_std``, buffers) is applied first, as in
SequenceClassifier; per-series normalisation is the caller's (the estimator's) business.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from rnnkit.errors import ConfigError
from rnnkit.models.layers import BACKENDS, CELLS, recurrent_layer

__all__ = ["LSTMFCN", "MaskedBatchNorm1d", "RNN_POOLINGS"]

RNN_POOLINGS = ("last", "mean")


class MaskedBatchNorm1d(nn.Module):
    """Batch normalisation of (B, N, T) over the valid steps only.

    Training: mu_n, var_n are the mean and (biased) variance of channel n over every
    (b, t) with mask[b, t] = 1; the running estimates move by ``momentum`` toward mu and
    the unbiased variance, as ``torch.nn.BatchNorm1d``. Evaluation uses the running ones.
    y = (x - mu) / sqrt(var + eps) * weight + bias, then zero at masked steps.
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1) -> None:
        super().__init__()
        self.eps, self.momentum = eps, momentum
        self.weight = nn.Parameter(torch.ones(num_features))
        self.bias = nn.Parameter(torch.zeros(num_features))
        self.register_buffer("running_mean", torch.zeros(num_features))
        self.register_buffer("running_var", torch.ones(num_features))

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        # x (B, N, T), mask (B, 1, T) of 0/1
        if self.training:
            count = mask.sum().clamp_min(1.0)
            mean = (x * mask).sum(dim=(0, 2)) / count                    # (N,)
            var = (((x - mean[None, :, None]) * mask) ** 2).sum(dim=(0, 2)) / count  # (N,)
            with torch.no_grad():
                unbiased = var * count / (count - 1).clamp_min(1.0)
                self.running_mean.lerp_(mean.detach(), self.momentum)
                self.running_var.lerp_(unbiased.detach(), self.momentum)
        else:
            mean, var = self.running_mean, self.running_var
        y = (x - mean[None, :, None]) * torch.rsqrt(var[None, :, None] + self.eps)  # (B, N, T)
        return (y * self.weight[None, :, None] + self.bias[None, :, None]) * mask


class _SqueezeExcite(nn.Module):
    """Channel gates from the masked time mean: x * sigmoid(W2 relu(W1 mean_t x))."""

    def __init__(self, channels: int, reduction: int = 16) -> None:
        super().__init__()
        hidden = max(1, channels // reduction)
        self.down = nn.Linear(channels, hidden)
        self.up = nn.Linear(hidden, channels)

    def forward(self, x: torch.Tensor, mask: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        s = (x * mask).sum(dim=2) / lengths[:, None]                  # (B, N)
        gate = torch.sigmoid(self.up(torch.relu(self.down(s))))        # (B, N)
        return x * gate[:, :, None]


def _window_mean(x: torch.Tensor, lengths: torch.Tensor, s: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, T, F) padded, lengths (B,) -> means over windows of s valid steps, (B, ceil(T/s), F)
    and the new lengths ceil(T_i / s). The last window of a sequence averages what is left."""
    if s == 1:
        return x, lengths
    B, T, Fdim = x.shape
    steps = torch.arange(T, device=x.device)
    mask = (steps[None, :] < lengths[:, None]).to(x.dtype)             # (B, T)
    pad = (-T) % s
    xm = F.pad(x * mask[:, :, None], (0, 0, 0, pad))                  # (B, T', F)
    mm = F.pad(mask, (0, pad))                                          # (B, T')
    sums = xm.reshape(B, -1, s, Fdim).sum(dim=2)                        # (B, T'/s, F)
    counts = mm.reshape(B, -1, s).sum(dim=2).clamp_min(1.0)             # (B, T'/s)
    return sums / counts[:, :, None], torch.div(lengths + s - 1, s, rounding_mode="floor")


class _Hybrid(nn.Module):
    """One member: the conv branch, the recurrent branch and the head."""

    def __init__(self, input_size: int, num_classes: int, filters: tuple[int, ...], kernels: tuple[int, ...],
                 squeeze_excite: bool, cell: str, hidden_size: int, bidirectional: bool,
                 rnn_pooling: str, backend: str) -> None:
        super().__init__()
        sizes = (input_size,) + tuple(filters)
        self.convs = nn.ModuleList(nn.Conv1d(sizes[k], sizes[k + 1], kernels[k], padding="same")
                                   for k in range(len(filters)))
        self.norms = nn.ModuleList(MaskedBatchNorm1d(n) for n in filters)
        # squeeze-excite after every block but the last (MLSTM-FCN)
        self.excite = nn.ModuleList(_SqueezeExcite(n) for n in filters[:-1]) if squeeze_excite else None
        self.rnn = recurrent_layer(cell, input_size, hidden_size, backend=backend, num_layers=1,
                                   bidirectional=bidirectional, batch_first=True)
        self.num_directions = 2 if bidirectional else 1
        self.rnn_pooling = rnn_pooling
        self.head = nn.Linear(filters[-1] + self.num_directions * hidden_size, num_classes)

    def conv_features(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        # x (B, T, F) with zeros at padded steps
        T = x.shape[1]
        mask = (torch.arange(T, device=x.device)[None, :] < lengths[:, None]).to(x.dtype)[:, None, :]  # (B,1,T)
        u = x.transpose(1, 2)                                               # (B, F, T)
        for k, (conv, norm) in enumerate(zip(self.convs, self.norms)):
            u = torch.relu(norm(conv(u), mask))                             # (B, N_k, T), 0 at pads
            if self.excite is not None and k < len(self.excite):
                u = self.excite[k](u, mask, lengths.to(x.dtype))
        return u.sum(dim=2) / lengths.to(x.dtype)[:, None]                  # (B, N_3)

    def rnn_features(self, v: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        packed = pack_padded_sequence(v, lengths.cpu(), batch_first=True, enforce_sorted=False)
        out, state = self.rnn(packed)
        if self.rnn_pooling == "last":
            h_n = state[0] if isinstance(state, tuple) else state           # (D, B, H)
            return h_n.permute(1, 0, 2).reshape(h_n.shape[1], -1)           # (B, D*H)
        y, lens = pad_packed_sequence(out, batch_first=True)                # (B, T', D*H)
        return y.sum(dim=1) / lens.to(y.device, y.dtype)[:, None]           # (B, D*H)


class LSTMFCN(nn.Module):
    """Classifies variable-length sequences (B of them, each (T_i, F)) into C classes."""

    def __init__(
        self,
        input_size: int,
        num_classes: int,
        filters: tuple[int, ...] = (128, 256, 128),
        kernels: tuple[int, ...] = (8, 5, 3),
        squeeze_excite: bool | None = None,
        cell: str = "lstm",
        hidden_size: int = 64,
        bidirectional: bool = False,
        rnn_pooling: str = "last",
        rnn_stride: int = 1,
        dropout: float = 0.2,
        label_smoothing: float = 0.0,
        members: int = 1,
        input_mean: list[float] | None = None,
        input_std: list[float] | None = None,
        backend: str = "auto",
    ) -> None:
        super().__init__()
        filters, kernels = tuple(int(n) for n in filters), tuple(int(k) for k in kernels)
        if cell not in CELLS:
            raise ConfigError(f"model cell must be one of {', '.join(CELLS)}, got {cell!r}")
        if backend not in BACKENDS:
            raise ConfigError(f"model backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
        if rnn_pooling not in RNN_POOLINGS:
            raise ConfigError(f"model rnn_pooling must be one of {', '.join(RNN_POOLINGS)}, got {rnn_pooling!r}")
        if not filters or len(filters) != len(kernels):
            raise ConfigError(f"model filters and kernels must be non-empty and as long as each other, "
                              f"got {list(filters)} and {list(kernels)}")
        for arg, value in (("input_size", input_size), ("hidden_size", hidden_size), ("members", members),
                           ("rnn_stride", rnn_stride), ("filters", min(filters)), ("kernels", min(kernels))):
            if int(value) < 1:
                raise ConfigError(f"model {arg} must be >= 1, got {value}")
        if num_classes < 2:
            raise ConfigError(f"model num_classes must be >= 2, got {num_classes}")
        if not 0.0 <= dropout < 1.0:
            raise ConfigError(f"model dropout must be in [0, 1), got {dropout}")
        if not 0.0 <= label_smoothing < 1.0:
            raise ConfigError(f"model label_smoothing must be in [0, 1), got {label_smoothing}")
        self.squeeze_excite = input_size > 1 if squeeze_excite is None else bool(squeeze_excite)
        self.rnn_stride = int(rnn_stride)
        self.label_smoothing = float(label_smoothing)
        self.members = nn.ModuleList(
            _Hybrid(input_size, num_classes, filters, kernels, self.squeeze_excite, cell, hidden_size,
                    bidirectional, rnn_pooling, backend)
            for _ in range(int(members)))
        self.dropout = nn.Dropout(dropout)
        mean = torch.zeros(input_size) if input_mean is None else torch.tensor(input_mean, dtype=torch.float32)
        std = torch.ones(input_size) if input_std is None else torch.tensor(input_std, dtype=torch.float32)
        if mean.shape != (input_size,) or std.shape != (input_size,):
            raise ConfigError(f"model input_mean/input_std must have {input_size} values each")
        self.register_buffer("input_mean", mean)
        self.register_buffer("input_std", std.clamp_min(1e-8))

    def _as_padded(self, x: PackedSequence | torch.Tensor, lengths: torch.Tensor | None):
        if isinstance(x, PackedSequence):
            return pad_packed_sequence(x, batch_first=True)                 # (B, T, F), (B,)
        if lengths is None:
            raise ConfigError("a padded batch (B, T, F) needs lengths (B,)")
        return x, lengths

    def member_logits(self, x: PackedSequence | torch.Tensor, lengths: torch.Tensor | None = None) -> list[torch.Tensor]:
        """Each member's logits, K tensors (B, C)."""
        x, lengths = self._as_padded(x, lengths)
        lengths = lengths.to(x.device)
        if bool((lengths < 1).any()):
            raise ConfigError("every sequence needs at least one step")
        steps = torch.arange(x.shape[1], device=x.device)
        valid = (steps[None, :] < lengths[:, None]).to(x.dtype)[:, :, None]  # (B, T, 1)
        z = (x - self.input_mean) / self.input_std * valid                  # (B, T, F), 0 at pads
        v, v_lengths = _window_mean(z, lengths, self.rnn_stride)            # (B, ceil(T/s), F)
        out = []
        for m in self.members:
            features = torch.cat([m.conv_features(z, lengths), m.rnn_features(v, v_lengths)], dim=1)
            out.append(m.head(self.dropout(features)))                      # (B, C)
        return out

    def forward(self, x: PackedSequence | torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """Packed (sum T_i, F), or padded (B, T, F) with lengths (B,) -> logits (B, C)."""
        logits = self.member_logits(x, lengths)
        if len(logits) == 1:
            return logits[0]
        log_p = torch.stack([torch.log_softmax(z, dim=-1) for z in logits])  # (K, B, C)
        return torch.logsumexp(log_p, dim=0) - math.log(len(logits))          # (B, C)

    def compute_loss(self, batch: dict) -> torch.Tensor:
        """Mean (label-smoothed) cross-entropy of ``{"x", "y"[, "lengths"]}``, summed over members."""
        losses = [F.cross_entropy(z, batch["y"], label_smoothing=self.label_smoothing)
                  for z in self.member_logits(batch["x"], batch.get("lengths"))]
        return losses[0] if len(losses) == 1 else torch.stack(losses).sum()

    @torch.no_grad()
    def predict_proba(self, x: PackedSequence | torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """Class probabilities (B, C)."""
        return torch.softmax(self(x, lengths), dim=-1)

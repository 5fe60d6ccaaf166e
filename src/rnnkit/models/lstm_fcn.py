"""LSTM-FCN-style hybrid classifier: a recurrent branch beside a convolutional one.

After Karim et al. (2017, LSTM-FCN; 2019, MLSTM-FCN for multivariate series), written for
variable-length batches. For a sequence x (T its own length, F features)::

    conv branch   u_0 = mean of x over windows of c steps              (F, ceil(T/c))
                        c = ceil(T / conv_steps): 1 unless the series is longer than conv_steps
                  u_k = relu(BN_k(conv_k(u_{k-1}))) * m              k = 1..3, (N_k, T)
                        conv_k: kernel K_k, dilation d_k (taps t + d_k j), zero "same" padding;
                        m_t = 1 for t < T else 0
                  u_k <- u_k * sigmoid(W2 relu(W1 mean_t u_k))       squeeze-excite, k = 1, 2
                                                                       (when F > 1, MLSTM-FCN)
                  g   = (1/T) sum_{t<T} u_3[:, t]                     global average pool, (N_3,)
                  p   = (1/T) sum_{t<T} sigmoid(a_3[:, t])            soft proportion of positive values
                        (a_3 = BN_3(conv_3(u_2)), before the relu; ``pooling_conv="mean+ppv"`` only:
                        g <- [g ; p], (2 N_3,); MiniRocket's PPV pooling made differentiable)
    rnn branch    v   = mean of x over windows of s steps             (ceil(T/s), F)
                        s = ceil(T / rnn_steps): at most rnn_steps windows, s = 1 for short series
                  y   = RNN(v)                                        (ceil(T/s), D*H)
                  r   = [h_last^fwd ; h_first^bwd]  or  mean_t y_t    (D*H,)   pooling last / mean
                        or sum_t a_t y_t, a = softmax_t(v^T tanh(W y_t + b))   attention
    summary       q   = MLP(K quantiles of each channel of x and of x_{t+1} - x_t)   (64,)
                        (``summary`` = K > 0 only: :mod:`rnnkit.models.summary`; full resolution,
                        order-free, padding never enters a quantile)
    head          logits = W_o dropout([g ; r ; q]) + b_o             (C,)   (q only when K > 0)
    (``deltas``: both branches read [z_t ; z_t - z_{t-1}], 2F channels, the standardised series and
     its step differences, 0 at each series' first step and at pads; the summary reads z)
    (``summary_member``: q is not concatenated; instead one more ensemble member,
     logits = W_q dropout(q) + b_q, is trained and averaged beside the hybrid(s))
    loss          cross_entropy(logits, target, weight=class_weights, label_smoothing=eps)

BN_k is batch normalisation whose training statistics are taken over the valid steps
only (:class:`MaskedBatchNorm1d`), so padding never enters a statistic, a convolution
(padded steps are zero, as the "same" padding of the sequence alone), a mean or a
recurrence (packed): a padded batch gives each sequence the logits it gets alone.

The original LSTM-FCN feeds its LSTM the univariate series as ONE step of T features
("dimension shuffle"); that cannot take variable lengths, so here the recurrent layer
reads the series in time order, averaged over windows of s steps so that it makes at
most ``rnn_steps`` steps, which keeps long series (hundreds to thousands of steps) cheap;
s depends on the sequence's own length only, so padding still changes nothing. Series
longer than ``conv_steps`` reach the convolutions as window means too (ACSF1's 1,460 steps
as 487 means of 3), which bounds the convolutional cost per series.

Ensemble (``members`` K > 1): K independent hybrids in one module; the loss is the sum of
their losses and the model predicts the mean of their probabilities,
``forward = log((1/K) sum_k softmax(l_k))``, as :class:`rnnkit.models.classifier.SequenceClassifier`.

Weight averaging (``weight_average`` "ema" or "swa", ``average_decay``; off by default):
an average of the parameters and of the running statistics of every MaskedBatchNorm1d,
kept as buffers ``average.*``, as :class:`~rnnkit.models.classifier.SequenceClassifier`
keeps it (:mod:`rnnkit.models.averaging`: the formulas, and why the statistics too).

Input standardisation (``input_mean``, ``input_std``, buffers) is applied first, as in
SequenceClassifier; per-series normalisation is the caller's (the estimator's) business.
``input_norm``: how the members read z (off by default, ``"none"`` / False: as it is):

- ``"batch"`` (or True): a MaskedBatchNorm1d over the input channels, z <- BN_0(z), before both
  branches and the summary. Trained on one speaker per batch (:mod:`rnnkit.tasks.classify.batches`)
  and adapted to each new speaker (:mod:`rnnkit.tasks.classify.adapt`), it normalises the input by
  each speaker's own mean and variance over all of that speaker's frames;
- ``"utterance"``: each sequence's channels to mean 0 and variance 1 over its own valid steps,
  z <- (z - mean_t z) / (std_t z + 1e-5), what ``audio.normalize`` does to a WAV file's features;
- a list of those, one per member (``members`` of them): member k reads its own. Two members that
  read the input normalised two ways err differently, so their mean is better than either
  (one per utterance and one per speaker on the spoken digits: RESULTS_classify.md, "Sixteenth
  pass"). The summary reads the first member's.
"""
from __future__ import annotations

import numbers

import numpy as np
import torch
from torch import nn
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from rnnkit.errors import ConfigError
from rnnkit.models.averaging import WeightAveraging
from rnnkit.models.classifier import POOLINGS, STD_FLOOR, MemberEnsemble, check_classifier_args
from rnnkit.models.layers import recurrent_layer
from rnnkit.models.masked_norm import MaskedBatchNorm1d
from rnnkit.models.summary import SummaryBranch

__all__ = ["LSTMFCN", "MaskedBatchNorm1d", "POOLINGS", "INPUT_NORMS", "utterance_norm"]

INPUT_NORMS = ("none", "batch", "utterance")  # how a member reads the input (``input_norm``)


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


def _window_mean(x: torch.Tensor, lengths: torch.Tensor, steps: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, T, F) padded, lengths (B,) -> means over windows of s_b = ceil(T_b / steps) steps,
    (B, W, F) with W <= steps, and the new lengths ceil(T_b / s_b). Each sequence's windows
    depend on its own length only; the last window averages what is left."""
    B, T, Fdim = x.shape
    stride = torch.div(lengths + steps - 1, steps, rounding_mode="floor").clamp_min(1)  # (B,)
    if bool((stride == 1).all()):
        return x, lengths
    t = torch.arange(T, device=x.device)
    valid = (t[None, :] < lengths[:, None]).to(x.dtype)                  # (B, T)
    window = torch.div(t[None, :], stride[:, None], rounding_mode="floor").clamp_max(steps - 1)  # (B, T)
    new_lengths = torch.div(lengths + stride - 1, stride, rounding_mode="floor")  # (B,)
    W = int(new_lengths.max())
    window = window.clamp_max(W - 1)                                      # pads beyond: weight 0
    sums = x.new_zeros(B, W, Fdim).scatter_add_(1, window[:, :, None].expand(B, T, Fdim),
                                                x * valid[:, :, None])  # (B, W, F)
    counts = x.new_zeros(B, W).scatter_add_(1, window, valid).clamp_min(1.0)  # (B, W)
    return sums / counts[:, :, None], new_lengths


def utterance_norm(z: torch.Tensor, valid: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """Each padded sequence's channels to mean 0 and (population) standard deviation 1 over its own
    steps, (B, T, F) -> (B, T, F), 0 at pads (``valid`` (B, T, 1)); as
    :func:`rnnkit.data.audio.normalize_utterance` of each sequence alone."""
    n = valid.sum(dim=1, keepdim=True).clamp_min(1.0)                       # (B, 1, 1)
    mean = (z * valid).sum(dim=1, keepdim=True) / n                         # (B, 1, F)
    std = (((z - mean) * valid) ** 2).sum(dim=1, keepdim=True).div(n).sqrt()
    return (z - mean) / (std + eps) * valid


def member_inputs(input_norm, members: int) -> tuple[str, ...]:
    """``input_norm`` (False / True / a name of :data:`INPUT_NORMS` / a list of names, one per
    member) -> one name per member; a one-line ConfigError for anything else."""
    if isinstance(input_norm, (bool, np.bool_)):
        return ("batch" if input_norm else "none",) * members
    kinds = (input_norm,) * members if isinstance(input_norm, str) else input_norm
    if (not isinstance(kinds, (list, tuple)) or len(kinds) != members
            or any(not isinstance(k, str) or k not in INPUT_NORMS for k in kinds)):
        raise ConfigError(f"model input_norm must be true, false, one of {list(INPUT_NORMS)} or a list of them "
                          f"with one per member ({members}), got {input_norm!r}")
    return tuple(kinds)


def step_deltas(z: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """z_t - z_{t-1} of each padded sequence, (B, T, F); 0 at t = 0 and at padded steps
    (``valid`` (B, T, 1): 1 on a sequence's own steps), so padding changes nothing."""
    d = torch.zeros_like(z)
    d[:, 1:] = (z[:, 1:] - z[:, :-1]) * valid[:, 1:]
    return d


class _Hybrid(nn.Module):
    """One member: the conv branch, the recurrent branch and the head."""

    def __init__(self, input_size: int, num_classes: int, filters: tuple[int, ...], kernels: tuple[int, ...],
                 dilations: tuple[int, ...], squeeze_excite: bool, cell: str, hidden_size: int, num_layers: int,
                 bidirectional: bool, pooling: str, dropout: float, backend: str, summary: int = 0,
                 ppv: bool = False, summary_input: int | None = None) -> None:
        super().__init__()
        sizes = (input_size,) + tuple(filters)
        self.convs = nn.ModuleList(nn.Conv1d(sizes[k], sizes[k + 1], kernels[k], padding="same",
                                             dilation=dilations[k])
                                   for k in range(len(filters)))
        self.norms = nn.ModuleList(MaskedBatchNorm1d(n) for n in filters)
        # squeeze-excite after every block but the last (MLSTM-FCN)
        self.excite = nn.ModuleList(_SqueezeExcite(n) for n in filters[:-1]) if squeeze_excite else None
        self.rnn = recurrent_layer(cell, input_size, hidden_size, backend=backend, num_layers=num_layers,
                                   bidirectional=bidirectional, batch_first=True,
                                   dropout=dropout if num_layers > 1 else 0.0)
        self.num_directions = 2 if bidirectional else 1
        self.pooling = pooling
        width = self.num_directions * hidden_size
        if pooling == "attention":
            self.attn_proj = nn.Linear(width, hidden_size)
            self.attn_score = nn.Linear(hidden_size, 1, bias=False)
        # the order-free summary branch (summary = K quantile levels; 0: none, as before it existed)
        # it reads the series itself (summary_input channels), not the branches' deltas
        self.summary = SummaryBranch(summary_input or input_size, summary) if summary else None
        extra = self.summary.width if self.summary is not None else 0
        self.ppv = bool(ppv)
        extra += filters[-1] if self.ppv else 0
        self.head = nn.Linear(filters[-1] + self.num_directions * hidden_size + extra, num_classes)

    def conv_features(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        # x (B, T, F) with zeros at padded steps
        T = x.shape[1]
        mask = (torch.arange(T, device=x.device)[None, :] < lengths[:, None]).to(x.dtype)[:, None, :]  # (B,1,T)
        u = x.transpose(1, 2)                                               # (B, F, T)
        for k, (conv, norm) in enumerate(zip(self.convs, self.norms)):
            a = norm(conv(u), mask)                                         # (B, N_k, T), 0 at pads
            u = torch.relu(a)
            if self.excite is not None and k < len(self.excite):
                u = self.excite[k](u, mask, lengths.to(x.dtype))
        n = lengths.to(x.dtype)[:, None]
        g = u.sum(dim=2) / n                                                # (B, N_3)
        if not self.ppv:
            return g
        return torch.cat([g, (torch.sigmoid(a) * mask).sum(dim=2) / n], dim=1)  # (B, 2 N_3)

    def rnn_features(self, v: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        packed = pack_padded_sequence(v, lengths.cpu(), batch_first=True, enforce_sorted=False)
        out, state = self.rnn(packed)
        if self.pooling == "last":
            h_n = state[0] if isinstance(state, tuple) else state           # (L*D, B, H)
            top = h_n[-self.num_directions:]                                # (D, B, H), top layer
            return top.permute(1, 0, 2).reshape(top.shape[1], -1)           # (B, D*H)
        y, lens = pad_packed_sequence(out, batch_first=True)                # (B, T', D*H), pads 0
        if self.pooling == "mean":
            return y.sum(dim=1) / lens.to(y.device, y.dtype)[:, None]       # (B, D*H)
        valid = torch.arange(y.shape[1], device=y.device)[None, :] < lens.to(y.device)[:, None]  # (B, T')
        scores = self.attn_score(torch.tanh(self.attn_proj(y))).squeeze(-1)  # (B, T')
        weights = torch.softmax(scores.masked_fill(~valid, float("-inf")), dim=1)
        return torch.einsum("bt,btd->bd", weights, y)                       # (B, D*H)


class LSTMFCN(WeightAveraging, MemberEnsemble, nn.Module):
    """Classifies variable-length sequences (B of them, each (T_i, F)) into C classes."""

    def __init__(
        self,
        input_size: int,
        num_classes: int,
        filters: tuple[int, ...] = (64, 128, 64),
        kernels: tuple[int, ...] = (7, 5, 3),
        dilations: tuple[int, ...] | None = None,
        squeeze_excite: bool | None = None,
        cell: str = "lstm",
        hidden_size: int = 64,
        num_layers: int = 1,
        bidirectional: bool = False,
        pooling: str = "last",
        rnn_steps: int = 64,
        conv_steps: int = 512,
        dropout: float = 0.2,
        label_smoothing: float = 0.0,
        members: int = 1,
        class_weights: list[float] | None = None,
        input_mean: list[float] | None = None,
        input_std: list[float] | None = None,
        backend: str = "auto",
        summary: int = 0,
        summary_member: bool = False,
        pooling_conv: str = "mean",
        weight_average: str = "none",
        average_decay: float = 0.99,
        deltas: bool = False,
        input_norm: bool | str | list[str] = False,
    ) -> None:
        super().__init__()
        filters, kernels = tuple(int(n) for n in filters), tuple(int(k) for k in kernels)
        dilations = (1,) * len(filters) if dilations is None else tuple(int(d) for d in dilations)
        if not filters or len(filters) != len(kernels) or len(dilations) != len(filters):
            raise ConfigError(f"model filters, kernels and dilations must be non-empty and as long as each "
                              f"other, got {list(filters)}, {list(kernels)} and {list(dilations)}")
        check_classifier_args(cell=cell, pooling=pooling, backend=backend, input_size=input_size,
                              num_classes=num_classes, hidden_size=hidden_size, num_layers=num_layers,
                              members=members, rnn_steps=rnn_steps, conv_steps=conv_steps,
                              filters=min(filters), kernels=min(kernels), dilations=min(dilations), dropout=dropout,
                              label_smoothing=label_smoothing, bidirectional=bidirectional, deltas=deltas)
        if isinstance(summary, bool) or not isinstance(summary, numbers.Integral) or not (summary == 0 or summary >= 2):
            raise ConfigError(f"model summary must be 0 (off) or an int >= 2 (quantile levels), got {summary!r}")
        self.summary = int(summary)
        self.summary_member = bool(summary_member)
        if self.summary_member and not self.summary:
            raise ConfigError("model summary_member needs summary >= 2 (the quantile levels of its branch)")
        in_hybrid = 0 if self.summary_member else self.summary
        if pooling_conv not in ("mean", "mean+ppv"):
            raise ConfigError(f"model pooling_conv must be 'mean' or 'mean+ppv', got {pooling_conv!r}")
        self.pooling_conv = pooling_conv
        self.squeeze_excite = input_size > 1 if squeeze_excite is None else bool(squeeze_excite)
        self.rnn_steps = int(rnn_steps)
        self.conv_steps = int(conv_steps)
        self.label_smoothing = float(label_smoothing)
        self.deltas = bool(deltas)  # numpy's bool_ -> bool
        branch_input = 2 * input_size if deltas else input_size  # [z_t ; z_t - z_{t-1}]
        self.members = nn.ModuleList(
            _Hybrid(branch_input, num_classes, filters, kernels, dilations, self.squeeze_excite, cell, hidden_size,
                    int(num_layers), bidirectional, pooling, dropout, backend, in_hybrid,
                    pooling_conv == "mean+ppv", summary_input=input_size)
            for _ in range(int(members)))
        # the summary as its own ensemble member (summary_member): quantiles -> 64 -> C
        self.summary_alone = SummaryBranch(input_size, self.summary) if self.summary_member else None
        self.summary_head = nn.Linear(self.summary_alone.width, num_classes) if self.summary_member else None
        self.dropout = nn.Dropout(dropout)
        self.member_inputs = member_inputs(input_norm, int(members))
        self.input_norm = MaskedBatchNorm1d(input_size) if "batch" in self.member_inputs else None
        mean = torch.zeros(input_size) if input_mean is None else torch.tensor(input_mean, dtype=torch.float32)
        std = torch.ones(input_size) if input_std is None else torch.tensor(input_std, dtype=torch.float32)
        if mean.shape != (input_size,) or std.shape != (input_size,):
            raise ConfigError(f"model input_mean/input_std must have {input_size} values each")
        self.register_buffer("input_mean", mean)
        self.register_buffer("input_std", std.clamp_min(STD_FLOOR))
        if class_weights is not None and len(class_weights) != num_classes:
            raise ConfigError(f"model class_weights must have {num_classes} values, got {len(class_weights)}")
        weights = torch.ones(num_classes) if class_weights is None else torch.tensor(class_weights, dtype=torch.float32)
        self.register_buffer("class_weights", weights)
        self._init_average(weight_average, average_decay)  # after every parameter and buffer exists

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
        inputs = {}  # input_norm name -> (z as read, the recurrent branch's windows, the convolutions')
        for kind in dict.fromkeys(self.member_inputs):
            zk = z
            if kind == "batch":
                zk = self.input_norm(z.transpose(1, 2), valid.transpose(1, 2)).transpose(1, 2)  # 0 at pads
            elif kind == "utterance":
                zk = utterance_norm(z, valid)
            branch = torch.cat([zk, step_deltas(zk, valid)], dim=2) if self.deltas else zk  # (B, T, 2F) or zk
            inputs[kind] = (zk, _window_mean(branch, lengths, self.rnn_steps),  # (B, W <= rnn_steps, F')
                            _window_mean(branch, lengths, self.conv_steps))     # (B, W' <= conv_steps, F')
        z = inputs[self.member_inputs[0]][0]  # what the summary reads
        out = []
        for m, kind in zip(self.members, self.member_inputs):
            _, (v, v_lengths), (u, u_lengths) = inputs[kind]
            parts = [m.conv_features(u, u_lengths), m.rnn_features(v, v_lengths)]
            if m.summary is not None:
                parts.append(m.summary(z, lengths))                         # (B, 64), full resolution
            features = torch.cat(parts, dim=1)
            out.append(m.head(self.dropout(features)))                      # (B, C)
        if self.summary_alone is not None:
            out.append(self.summary_head(self.dropout(self.summary_alone(z, lengths))))  # (B, C)
        return out

"""Sequence classifier: a (bidirectional, multi-layer) RNN/LSTM/GRU over packed batches,
mask-aware pooling over time, and a linear head.

For a sequence x_1..x_T (T its own length, F features), with D = 2 if bidirectional::

    z_t      = (x_t - mu) / sigma                          input standardisation (buffers)
    y_t      = RNN(z)_t                                    (T, D*H), top layer's outputs
    pooled   = last:      [h_T^fwd ; h_1^bwd]              final state of each direction
               mean:      (1/T) sum_t y_t                  over valid steps only
               attention: sum_t a_t y_t,  a = softmax_t(v^T tanh(W y_t + b))   valid t only
    logits   = W_o dropout(pooled) + b_o                   (C,)
    loss     = cross_entropy(logits, target, weight=class_weights, label_smoothing=eps)

Ensemble (``members`` K > 1, default 1): K independently initialised encoders (recurrent
layer, attention, head), trained together in one module. Member k gives logits l_k and
p_k = softmax(l_k); the training loss is the sum of the members' losses (so each member's
gradients are what it would get alone), and the model predicts the mean of their
probabilities::

    loss     = sum_k cross_entropy(l_k, target)
    forward  = log((1/K) sum_k p_k)                        (B, C): softmax of it = mean p_k

With K = 1 everything (construction order, ``state_dict`` keys ``rnn.*``, ``head.*``,
logits) is as without the option; members 2..K live in ``extra_members.{k-2}.*``.

``label_smoothing`` eps in [0, 1) trains against (1 - eps) one-hot + eps / C uniform
targets (``torch.nn.functional.cross_entropy``'s definition); 0 is plain cross-entropy.

Weight averaging (``weight_average``, off by default; "ema" or "swa", ``average_decay``):
the model keeps an average of its weights as buffers (``average.*``), folded in by
``update_average()`` and copied in by ``use_average()`` (:mod:`rnnkit.models.averaging`, the
formulas there). When to update is the trainer's business (:mod:`rnnkit.tasks.classify.pipeline`).

A batch is a PackedSequence, or a padded (B, T, F) tensor with ``lengths`` (B,); the two
give the same logits, since padding never enters a recurrence, a mean or a softmax.
``class_weights`` (C,) weight each class's terms; the loss is then the weighted mean
``sum_i w_{y_i} l_i / sum_i w_{y_i}``, as in ``torch.nn.functional.cross_entropy``.

The recurrent layer comes from the one layer factory
(:func:`rnnkit.models.layers.recurrent_layer`): ``rnnkit.nn``'s drop-in layer with
``backend`` "auto" (the default), "rnnkit" or "torch"; all share ``state_dict`` keys, so
weights load in any. (model.json files from before ``backend`` say ``rnn_impl``:
"rnnkit" reads as "auto", "torch" as "torch"; see :mod:`rnnkit.models.registry`.)
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from rnnkit.errors import ConfigError
from rnnkit.models.averaging import AVERAGES, WeightAveraging
from rnnkit.models.layers import BACKENDS, CELLS, recurrent_layer

# input_std's floor: only a guard against 0 (rnnkit.tasks.classify.arrays floors the statistics it gives
# relative to each channel's scale, so a channel in units of 1e-12 is standardised like one in units of 1)
STD_FLOOR = float(torch.finfo(torch.float32).tiny)

__all__ = ["SequenceClassifier", "CELLS", "POOLINGS", "AVERAGES", "LEGACY_RNN_IMPL", "MemberEnsemble", "check_classifier_args"]

POOLINGS = ("last", "mean", "attention")


def check_classifier_args(*, cell: str, pooling: str, backend: str, dropout: float, label_smoothing: float,
                          num_classes: int, bidirectional: bool, deltas: bool, **counts: int) -> None:
    """The arguments every classification network shares, checked alike (one-line ConfigError).

    ``bidirectional`` and ``deltas`` must be booleans: the string "false" from a hand-written
    config would otherwise read as true. ``counts``: named sizes that must be >= 1
    (input_size, hidden_size, num_layers, members, ...).
    """
    for arg, value in (("bidirectional", bidirectional), ("deltas", deltas)):
        if not isinstance(value, (bool, np.bool_)):
            raise ConfigError(f"model {arg} must be true or false, got {value!r}")
    for arg, value, allowed in (("cell", cell, CELLS), ("pooling", pooling, POOLINGS), ("backend", backend, BACKENDS)):
        if value not in allowed:
            raise ConfigError(f"model {arg} must be one of {', '.join(allowed)}, got {value!r}")
    for arg, value in counts.items():
        if int(value) < 1:
            raise ConfigError(f"model {arg} must be >= 1, got {value}")
    if num_classes < 2:
        raise ConfigError(f"model num_classes must be >= 2, got {num_classes}")
    if not 0.0 <= dropout < 1.0:
        raise ConfigError(f"model dropout must be in [0, 1), got {dropout}")
    if not 0.0 <= label_smoothing < 1.0:
        raise ConfigError(f"model label_smoothing must be in [0, 1), got {label_smoothing}")
#: the ``rnn_impl`` of model.json files written before ``backend`` -> its backend
LEGACY_RNN_IMPL = {"rnnkit": "auto", "torch": "torch"}


def _build_encoder(owner: nn.Module, input_size: int, num_classes: int, hidden_size: int, num_layers: int,
                   cell: str, bidirectional: bool, pooling: str, dropout: float, backend: str) -> None:
    """Give ``owner`` one member's rnn, attn_proj/attn_score (attention pooling) and head."""
    owner.rnn = recurrent_layer(
        cell, input_size, hidden_size, backend=backend, num_layers=num_layers,
        bidirectional=bidirectional, dropout=dropout if num_layers > 1 else 0.0, batch_first=False,
    )
    width = (2 if bidirectional else 1) * hidden_size
    if pooling == "attention":
        owner.attn_proj = nn.Linear(width, hidden_size)
        owner.attn_score = nn.Linear(hidden_size, 1, bias=False)
    owner.head = nn.Linear(width, num_classes)


def packed_deltas(data: torch.Tensor, batch_sizes: torch.Tensor) -> torch.Tensor:
    """Δx_t = x_t - x_{t-1} of every sequence in packed rows, 0 at each sequence's first step.

    ``data`` (N, F) holds step t's rows at offsets[t] .. offsets[t] + batch_sizes[t], the
    sequences sorted longest first, so row b of step t follows row b of step t - 1.
    """
    sizes = batch_sizes.to(torch.int64).cpu()                          # (T,)
    steps = torch.repeat_interleave(torch.arange(len(sizes)), sizes)  # (N,) each row's step
    first = int(sizes[0])
    # a row of step t >= 1 sits batch_sizes[t-1] rows after its predecessor in step t - 1
    prev = torch.arange(first, len(steps)) - sizes[steps[first:] - 1]
    out = torch.zeros_like(data)  # (N, F); the first step's rows stay 0
    out[first:] = data[first:] - data[prev.to(data.device)]
    return out


class MemberEnsemble:
    """forward, compute_loss and predict_proba of a classification network whose
    ``member_logits(x, lengths)`` gives one (B, C) logit tensor per ensemble member and
    which holds ``class_weights`` (C,) and ``label_smoothing`` (mixed into an nn.Module)."""

    def forward(self, x: PackedSequence | torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """Packed (sum T_i, F), or padded (B, T, F) with lengths (B,) -> logits (B, C).

        With members > 1 the "logits" are log of the mean of the members' probabilities."""
        logits = self.member_logits(x, lengths)
        if len(logits) == 1:
            return logits[0]
        log_p = torch.stack([torch.log_softmax(z, dim=-1) for z in logits])  # (K, B, C)
        return torch.logsumexp(log_p, dim=0) - math.log(len(logits))          # (B, C)

    def compute_loss(self, batch: dict) -> torch.Tensor:
        """Weighted mean (label-smoothed) cross-entropy of a batch ``{"x", "y"[, "lengths"]}``,
        summed over the members."""
        losses = [
            F.cross_entropy(logits, batch["y"], weight=self.class_weights.to(logits.dtype),
                            label_smoothing=self.label_smoothing)
            for logits in self.member_logits(batch["x"], batch.get("lengths"))  # K x (B, C)
        ]
        return losses[0] if len(losses) == 1 else torch.stack(losses).sum()

    @torch.no_grad()
    def predict_proba(self, x: PackedSequence | torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """Class probabilities (B, C)."""
        return torch.softmax(self(x, lengths), dim=-1)


class SequenceClassifier(WeightAveraging, MemberEnsemble, nn.Module):
    """Classifies variable-length sequences (B of them, each (T_i, F)) into C classes."""

    def __init__(
        self,
        input_size: int,
        num_classes: int,
        hidden_size: int = 64,
        num_layers: int = 2,
        cell: str = "lstm",
        bidirectional: bool = True,
        pooling: str = "last",
        dropout: float = 0.0,
        class_weights: list[float] | None = None,
        input_mean: list[float] | None = None,
        input_std: list[float] | None = None,
        backend: str = "auto",
        label_smoothing: float = 0.0,
        weight_average: str = "none",
        average_decay: float = 0.99,
        members: int = 1,
        deltas: bool = False,
    ) -> None:
        super().__init__()
        check_classifier_args(cell=cell, pooling=pooling, backend=backend, input_size=input_size,
                              num_classes=num_classes, hidden_size=hidden_size, num_layers=num_layers,
                              members=members, dropout=dropout, label_smoothing=label_smoothing,
                              bidirectional=bidirectional, deltas=deltas)
        self.label_smoothing = float(label_smoothing)
        self.pooling = pooling
        self.num_directions = 2 if bidirectional else 1
        self.num_members = int(members)
        self.deltas = bool(deltas)  # numpy's bool_ -> bool
        rnn_input = 2 * input_size if self.deltas else input_size  # [x_t, x_t - x_{t-1}]
        # member 1 lives on the module itself (rnn, attn_*, head: the keys of a members=1
        # model), members 2..K in extra_members, each built the same way, after it
        _build_encoder(self, rnn_input, num_classes, hidden_size, num_layers, cell, bidirectional,
                       pooling, dropout, backend)
        self.dropout = nn.Dropout(dropout)
        if self.num_members > 1:
            self.extra_members = nn.ModuleList()
            for _ in range(self.num_members - 1):
                member = nn.Module()
                _build_encoder(member, rnn_input, num_classes, hidden_size, num_layers, cell,
                               bidirectional, pooling, dropout, backend)
                self.extra_members.append(member)

        mean = torch.zeros(input_size) if input_mean is None else torch.tensor(input_mean, dtype=torch.float32)
        std = torch.ones(input_size) if input_std is None else torch.tensor(input_std, dtype=torch.float32)
        if mean.shape != (input_size,) or std.shape != (input_size,):
            raise ConfigError(f"model input_mean/input_std must have {input_size} values each")
        if class_weights is not None and len(class_weights) != num_classes:
            raise ConfigError(f"model class_weights must have {num_classes} values, got {len(class_weights)}")
        self.register_buffer("input_mean", mean)
        self.register_buffer("input_std", std.clamp_min(STD_FLOOR))
        weights = torch.ones(num_classes) if class_weights is None else torch.tensor(class_weights, dtype=torch.float32)
        self.register_buffer("class_weights", weights)
        self._init_average(weight_average, average_decay)  # after every parameter exists

    # ---------------------------------------------------------------- forward
    def _as_packed(self, x: PackedSequence | torch.Tensor, lengths: torch.Tensor | None) -> PackedSequence:
        if isinstance(x, PackedSequence):
            return x
        if lengths is None:
            raise ConfigError("a padded batch (B, T, F) needs lengths (B,)")
        return pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)

    def _members(self) -> list[nn.Module]:
        return [self] + (list(self.extra_members) if self.num_members > 1 else [])

    def _member_logits(self, member: nn.Module, packed: PackedSequence) -> torch.Tensor:
        out, state = member.rnn(packed)
        h_n = state[0] if isinstance(state, tuple) else state  # (L*D, B, H), original batch order
        if self.pooling == "last":
            top = h_n[-self.num_directions:]                   # (D, B, H)
            pooled = top.permute(1, 0, 2).reshape(top.shape[1], -1)  # (B, D*H)
        else:
            y, lens = pad_packed_sequence(out, batch_first=True)  # (B, T, D*H), (B,) original order
            steps = torch.arange(y.shape[1], device=y.device)
            mask = steps[None, :] < lens.to(y.device)[:, None]    # (B, T)
            if self.pooling == "mean":
                pooled = y.sum(dim=1) / lens.to(y.device, y.dtype)[:, None]  # (B, D*H); pads are 0
            else:
                scores = member.attn_score(torch.tanh(member.attn_proj(y))).squeeze(-1)  # (B, T)
                scores = scores.masked_fill(~mask, float("-inf"))
                weights = torch.softmax(scores, dim=1)             # (B, T)
                pooled = torch.einsum("bt,btd->bd", weights, y)    # (B, D*H)
        return member.head(self.dropout(pooled))                   # (B, C)

    def member_logits(self, x: PackedSequence | torch.Tensor, lengths: torch.Tensor | None = None) -> list[torch.Tensor]:
        """Each member's logits, K tensors (B, C)."""
        packed = self._as_packed(x, lengths)
        data = (packed.data - self.input_mean) / self.input_std  # (sum T_i, F)
        if self.deltas:
            data = torch.cat([data, packed_deltas(data, packed.batch_sizes)], dim=-1)  # (sum T_i, 2F)
        packed = packed._replace(data=data)
        return [self._member_logits(m, packed) for m in self._members()]

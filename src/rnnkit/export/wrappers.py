"""Streaming forms of the task models, for export: the recurrent state is an explicit
input and output, and the recurrent layer is the equivalent ``torch.nn`` layer.

Every wrapper computes, for a chunk x of T steps and the state the previous chunk
ended in::

    u            = front(x)                      (T, B, I)   time-major features
    o, state'    = RNN(u, state)                 (T, B, D*H), (L*D, B, H) [and c]
    y            = back(o, h')                   task output

so feeding a sequence chunk by chunk, passing ``state'`` on, gives the same outputs as
one call over the whole sequence (for the step-wise heads). With a zero state the
wrapper equals the task model's own ``forward`` on full-length sequences; export checks
that too (:func:`rnnkit.export.core.check_wrapper`).

Why ``torch.nn`` layers: ``rnnkit.nn`` layers share ``torch.nn``'s state_dict, and on
the "rnnkit" path they run a Python loop over time. Tracing a Python loop unrolls it
for the example's T, so the exported graph only works at that length (measured: the
ONNX file exported from ``backend="rnnkit"`` fails in ONNX Runtime at any other T),
and TorchScript cannot compile ``torch.autograd.Function``. ``torch.nn`` layers export
to ONNX's own ``LSTM``/``GRU``/``RNN`` operators with a dynamic time axis and script
to TorchScript; the check proves the numbers still match the eager model.

Layouts: ``batch_first`` wrappers take x (B, T, F) (classifier, RecurrentModel); the
character model takes ids (T, B), as its own forward does. States are (L*D, B, H).
"""
from __future__ import annotations

import copy
from typing import Tuple

import torch
from torch import Tensor, nn

from rnnkit.errors import RnnkitError

__all__ = [
    "torch_layer",
    "StreamingLSTM",
    "StreamingGRU",
    "ClassifierFront",
    "ClassifierBack",
    "EmbedFront",
    "TimeMajor",
    "LinearBack",
    "SequenceHeadBack",
]


def torch_layer(layer: nn.Module) -> nn.RNNBase:
    """A ``torch.nn`` copy of a recurrent layer (``rnnkit.nn`` or ``torch.nn``), eval mode."""
    if isinstance(layer, nn.RNNBase):
        out = copy.deepcopy(layer)
    elif hasattr(layer, "to_torch"):
        try:
            out = layer.to_torch(share_parameters=False)
        except (NotImplementedError, RnnkitError, RuntimeError) as err:
            raise RnnkitError(f"export: {type(layer).__name__} has no torch.nn equivalent: {err}") from None
    else:
        raise RnnkitError(f"export: cannot export recurrent layer {type(layer).__name__}")
    if getattr(out, "proj_size", 0):
        raise RnnkitError("export: LSTM with proj_size is not supported by the exporter")
    return out.eval()


# ------------------------------------------------------------------ fronts (x -> u)


class TimeMajor(nn.Module):
    """(B, T, F) -> (T, B, F)."""

    def forward(self, x: Tensor) -> Tensor:
        return x.transpose(0, 1)  # (T, B, F)


class ClassifierFront(nn.Module):
    """Standardise with the classifier's buffers, then time-major: (B, T, F) -> (T, B, F)."""

    def __init__(self, mean: Tensor, std: Tensor) -> None:
        super().__init__()
        self.register_buffer("mean", mean.detach().clone())
        self.register_buffer("std", std.detach().clone())

    def forward(self, x: Tensor) -> Tensor:
        return ((x - self.mean) / self.std).transpose(0, 1)  # (T, B, F)


class EmbedFront(nn.Module):
    """Token ids (T, B) -> embeddings (T, B, E)."""

    def __init__(self, embed: nn.Embedding) -> None:
        super().__init__()
        self.embed = copy.deepcopy(embed)

    def forward(self, x: Tensor) -> Tensor:
        return self.embed(x)  # (T, B, E)


# -------------------------------------------------------------- backs (o, h -> y)


class LinearBack(nn.Module):
    """y_t = W o_t + b at every step; time-major in, time-major out: (T, B, V)."""

    def __init__(self, head: nn.Linear) -> None:
        super().__init__()
        self.head = copy.deepcopy(head)

    def forward(self, out: Tensor, h: Tensor) -> Tensor:
        return self.head(out)  # (T, B, V)


class SequenceHeadBack(nn.Module):
    """RecurrentModel's heads: last (final top states), mean (over T) or sequence (every step).

    ``activation`` 0 identity, 1 sigmoid, 2 tanh, 3 softmax (over the last axis).
    """

    def __init__(self, head: nn.Linear, pooling: str, directions: int, activation: str) -> None:
        super().__init__()
        self.head = copy.deepcopy(head)
        self.pooling = {"last": 0, "mean": 1, "sequence": 2}[pooling]
        self.directions = directions
        self.activation = {"identity": 0, "sigmoid": 1, "tanh": 2, "softmax": 3}[activation]

    def forward(self, out: Tensor, h: Tensor) -> Tensor:
        if self.pooling == 0:
            top = h[h.shape[0] - self.directions :]  # (D, B, H)
            z = self.head(top.transpose(0, 1).reshape(top.shape[1], -1))  # (B, O)
        elif self.pooling == 1:
            z = self.head(out.mean(dim=0))  # (B, O)
        else:
            z = self.head(out.transpose(0, 1))  # (B, T, O)
        if self.activation == 1:
            return torch.sigmoid(z)
        if self.activation == 2:
            return torch.tanh(z)
        if self.activation == 3:
            return torch.softmax(z, dim=-1)
        return z


class ClassifierBack(nn.Module):
    """SequenceClassifier's pooling (last, mean, attention over all T steps) and head -> (B, C)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.pooling = {"last": 0, "mean": 1, "attention": 2}[model.pooling]
        self.directions = int(model.num_directions)
        self.head = copy.deepcopy(model.head)
        if self.pooling == 2:
            self.attn_proj = copy.deepcopy(model.attn_proj)
            self.attn_score = copy.deepcopy(model.attn_score)
        else:  # scripting needs the attributes to exist; they are never called
            self.attn_proj = nn.Identity()
            self.attn_score = nn.Identity()

    def forward(self, out: Tensor, h: Tensor) -> Tensor:
        if self.pooling == 0:
            top = h[h.shape[0] - self.directions :]  # (D, B, H)
            pooled = top.transpose(0, 1).reshape(top.shape[1], -1)  # (B, D*H)
        elif self.pooling == 1:
            pooled = out.mean(dim=0)  # (B, D*H)
        else:
            y = out.transpose(0, 1)  # (B, T, D*H)
            scores = self.attn_score(torch.tanh(self.attn_proj(y))).squeeze(-1)  # (B, T)
            weights = torch.softmax(scores, dim=1)  # (B, T)
            pooled = (weights.unsqueeze(-1) * y).sum(dim=1)  # (B, D*H)
        return self.head(pooled)  # (B, C)


# ------------------------------------------------------------------- the wrappers


class _Streaming(nn.Module):
    def __init__(self, front: nn.Module, rnn: nn.Module, back: nn.Module) -> None:
        super().__init__()
        self.front = front
        self.rnn = torch_layer(rnn)
        if self.rnn.batch_first:  # the wrapper always feeds the layer time-major
            self.rnn.batch_first = False
        self.back = back
        self.num_states = self.rnn.num_layers * (2 if self.rnn.bidirectional else 1)
        self.hidden_size = self.rnn.hidden_size
        self.eval()


class StreamingLSTM(_Streaming):
    """(x, h0, c0) -> (y, h_n, c_n); h0, c0, h_n, c_n are (L*D, B, H)."""

    state_names = ("h0", "c0")

    def forward(self, x: Tensor, h0: Tensor, c0: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        u = self.front(x)  # (T, B, I)
        out, (h, c) = self.rnn(u, (h0, c0))  # (T, B, D*H), (L*D, B, H)
        return self.back(out, h), h, c


class StreamingGRU(_Streaming):
    """(x, h0) -> (y, h_n) for GRU and RNN layers; h0, h_n are (L*D, B, H)."""

    state_names = ("h0",)

    def forward(self, x: Tensor, h0: Tensor) -> Tuple[Tensor, Tensor]:
        u = self.front(x)  # (T, B, I)
        out, h = self.rnn(u, h0)  # (T, B, D*H), (L*D, B, H)
        return self.back(out, h), h

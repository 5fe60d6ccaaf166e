"""A character-level language model with state carried across chunks.

For input ids x_1..x_T and the state (h_0, c_0) left by the previous chunk:

    e_t          = E[x_t]                                  embedding, (B, E)
    h_t, c_t     = Cell_L(... Cell_1(e_t, h_{t-1}, c_{t-1}))   L stacked layers
    p(x_{t+1})   = softmax(W_o dropout(h_t^{(L)}) + b_o)   (B, V)

and the loss is the mean cross-entropy  -1/(T·B) Σ log p(y_t), in nats per character
(divide by ln 2 for bits per character).

Truncated BPTT with carried state (char-rnn's scheme): :meth:`CharLM.compute_loss`
starts each chunk from the state the previous chunk ended in, *detached* so that
gradients stop at the chunk boundary, and keeps the new end state for the next
chunk. :meth:`reset_state` forgets it; the trainer calls :meth:`on_epoch_start`
and :meth:`on_eval_start`, which both reset, so every epoch and every validation
pass starts from zeros.

Shapes are time-major: x, y (T, B) int64; logits (T, B, V); state h (L, B, H)
(and c (L, B, H) for LSTM).

The recurrent layer comes from one place, :func:`recurrent_layer`: ``rnnkit.nn``'s
drop-in LSTM/GRU/RNN. Its ``backend`` is ``"auto"`` (the default), ``"rnnkit"`` or
``"torch"``; all give the same numbers. ``"auto"`` follows the measured decision table of
:mod:`rnnkit.nn.backend_choice` call by call: on the CPU, training (LSTM, GRU, RNN) runs
rnnkit's hand-written BPTT on the fused C++ loops; LSTM validation and scoring (many
rows, no gradients) run torch's oneDNN kernel; generation (one row per step) runs
rnnkit's loop, since oneDNN re-packs its weights on every call; GRU/RNN inference runs
rnnkit's loops. Other devices run torch's kernels (cuDNN).
"""
from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from rnnkit.errors import ConfigError
from rnnkit.models.layers import recurrent_layer

__all__ = ["CharLM"]

State = Tensor | tuple[Tensor, Tensor]


def detach_state(state: State | None) -> State | None:
    if state is None:
        return None
    if isinstance(state, tuple):
        return tuple(s.detach() for s in state)  # type: ignore[return-value]
    return state.detach()


class CharLM(nn.Module):
    """Embedding → L-layer LSTM/GRU/RNN with dropout → linear → softmax over V chars.

    Args:
        vocab_size: V, including the unknown symbol.
        embed_dim: E.
        hidden_size: H.
        num_layers: L.
        cell: ``"lstm"``, ``"gru"`` or ``"rnn"``.
        dropout: applied between layers and before the output layer.
        backend: ``"auto"``, ``"rnnkit"`` or ``"torch"`` (see :func:`rnnkit.models.layers.recurrent_layer`).
    """

    def __init__(self, vocab_size: int, embed_dim: int = 64, hidden_size: int = 256,
                 num_layers: int = 2, cell: str = "lstm", dropout: float = 0.0,
                 backend: str = "auto") -> None:
        super().__init__()
        for name, value in (("vocab_size", vocab_size), ("embed_dim", embed_dim),
                            ("hidden_size", hidden_size), ("num_layers", num_layers)):
            if not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name}: must be a positive integer, saw {value!r}")
        if not 0.0 <= dropout < 1.0:
            raise ConfigError(f"dropout: must be in [0, 1), saw {dropout}")
        self.model_config = dict(vocab_size=vocab_size, embed_dim=embed_dim,
                                 hidden_size=hidden_size, num_layers=num_layers, cell=cell,
                                 dropout=dropout, backend=backend)
        self.cell = cell
        self.embed = nn.Embedding(vocab_size, embed_dim)
        self.rnn = recurrent_layer(cell, embed_dim, hidden_size, backend=backend,
                                   num_layers=num_layers,
                                   dropout=dropout if num_layers > 1 else 0.0)
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(hidden_size, vocab_size)
        self._state: State | None = None

    # ----- forward -------------------------------------------------------------
    def forward(self, x: Tensor, state: State | None = None) -> tuple[Tensor, State]:
        """x (T, B) int64 → logits (T, B, V) and the end state."""
        e = self.embed(x)  # (T, B, E)
        out, state = self.rnn(e, state)  # (T, B, H)
        logits = self.head(self.drop(out))  # (T, B, V)
        return logits, state

    # ----- carried state ---------------------------------------------------------
    @property
    def state(self) -> State | None:
        """The (detached) state the last chunk ended in, or None after a reset."""
        return self._state

    def reset_state(self) -> None:
        self._state = None

    def on_epoch_start(self) -> None:
        self.reset_state()

    def on_eval_start(self) -> None:
        self.reset_state()

    def _carried_for(self, batch_size: int) -> State | None:
        state = self._state
        if state is None:
            return None
        h = state[0] if isinstance(state, tuple) else state
        if h.shape[1] != batch_size:  # a different stream layout: start afresh
            return None
        return state

    # ----- loss ------------------------------------------------------------------
    def compute_loss(self, batch: tuple[Tensor, Tensor]) -> Tensor:
        """Mean cross-entropy in nats over the chunk; carries the state forward."""
        x, y = batch  # (T, B), (T, B)
        logits, state = self(x, self._carried_for(x.shape[1]))
        self._state = detach_state(state)
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))

    @torch.no_grad()
    def sum_nats(self, batch: tuple[Tensor, Tensor]) -> tuple[float, int]:
        """Summed cross-entropy (nats) and character count for one chunk, carrying
        the state like :meth:`compute_loss`; for exact per-character averages."""
        x, y = batch
        logits, state = self(x, self._carried_for(x.shape[1]))
        self._state = detach_state(state)
        total = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1),
                                reduction="sum")
        return float(total), int(y.numel())

    # ----- generation --------------------------------------------------------------
    @torch.no_grad()
    def step(self, ids: Tensor, state: State | None) -> tuple[Tensor, State]:
        """One or more steps for generation: ids (T, B) → last logits (B, V), state."""
        logits, state = self(ids, state)
        return logits[-1], state


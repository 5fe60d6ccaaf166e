"""Exact per-character scoring of a character LM: ``score_ids``.

Per character, with p the model's predicted probability of the true next character:

    nats/char = -1/N Σ ln p        bits/char = nats/char / ln 2        perplexity = e^{nats/char}
"""
from __future__ import annotations

import math

import torch
from torch.nn import functional as F

from rnnkit.data.text import ContiguousBatches
from rnnkit.errors import DataError
from rnnkit.models.charlm import CharLM
from rnnkit.training.progress import EpochProgress, progress_enabled

__all__ = ["LN2", "score_ids"]

LN2 = math.log(2.0)


@torch.no_grad()
def score_ids(model: CharLM, ids: torch.Tensor, batch_size: int = 32, seq_len: int = 256,
              name: str = "text", progress: bool = False) -> tuple[float, int]:
    """Exact mean nats per predicted character of ``ids`` (N,), and the count (N - 1).

    The text is cut into at most ``batch_size`` contiguous streams of at least
    ``seq_len`` characters (one stream for a short text), each read from a zero state
    in chunks with the state carried. The few characters left after the last whole
    stream are read by continuing the last stream's state, so every character after
    the first is scored exactly once. ``progress`` draws a bar (where
    :func:`~rnnkit.training.progress.progress_enabled` allows).
    """
    n = int(ids.numel())
    if n < 2:
        raise DataError(f"{name}: has {n} character(s); scoring needs at least 2")
    streams = max(1, min(batch_size, (n - 1) // seq_len))
    t = min(seq_len, (n - 1) // streams)
    batches = ContiguousBatches(ids, streams, t, name=name)
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    model.on_eval_start()
    total, count = 0.0, 0
    with EpochProgress(progress_enabled(progress)) as bar:
        bar.start_validation(len(batches))
        for x, y in batches:
            nats, k = model.sum_nats((x.to(device), y.to(device)))
            total += nats
            count += k
            bar.advance(nats / max(k, 1))
    tail = ids[streams * batches.stream_len:]  # the last stream's end, then the rest
    if tail.numel() > 1:
        state = model.state
        last = tuple(s[:, -1:] for s in state) if isinstance(state, tuple) else state[:, -1:]
        logits, _ = model(tail[:-1].view(-1, 1).to(device), last)  # (R, 1, V)
        total += float(F.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                       tail[1:].to(device), reduction="sum"))
        count += tail.numel() - 1
    model.reset_state()
    model.train(was_training)
    return total / count, count

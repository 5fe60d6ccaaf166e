"""Shared by the model tests: the weight average checked against its formulas by hand, a
network's state without its average's buffers, and variable-length batches for the hybrid
(random sequences, padded with junk)."""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch


def expected_average(snapshots: list[dict[str, torch.Tensor]], name: str, kind: str, decay: float) -> torch.Tensor:
    """The average of tensor ``name`` after folding in ``snapshots`` in order: their plain mean
    ("swa"), or a_0 = p_0, then a <- decay a + (1 - decay) p ("ema")."""
    values = [snap[name] for snap in snapshots]
    if kind == "swa":
        return sum(values[1:], values[0]) / len(values)
    want = values[0]
    for x in values[1:]:
        want = decay * want + (1 - decay) * x
    return want


def assert_average_by_hand(model, names: list[str], kind: str, decay: float,
                           draw: Callable[[tuple[int, ...]], np.ndarray], times: int = 4) -> None:
    """Set every tensor in ``names`` (parameters or buffers) to ``draw(shape)`` values and fold
    them into the model's average, ``times`` times; the average must be the formula's."""
    params = dict(model.named_parameters())

    def tensor(n: str) -> torch.Tensor:
        return params[n] if n in params else model.get_buffer(n)

    snapshots = []
    for _ in range(times):
        with torch.no_grad():
            for n in names:
                tensor(n).copy_(torch.from_numpy(draw(tuple(tensor(n).shape))))
        snapshots.append({n: tensor(n).detach().clone() for n in names})
        model.update_average()
    assert int(model.average.count) == times
    for n in names:
        torch.testing.assert_close(getattr(model.average, n.replace(".", "__")),
                                   expected_average(snapshots, n, kind, decay), rtol=1e-12, atol=1e-12)


def state_without_average(net: torch.nn.Module) -> dict:
    """``net.state_dict()`` less the weight average's ``average.*`` buffers (what a saved
    classifier keeps: rnnkit.tasks.classify.persist)."""
    return {k: v for k, v in net.state_dict().items() if not k.startswith("average.")}


def random_sequences(lengths, features: int = 2, seed: int = 0) -> list[torch.Tensor]:
    """One (T, features) standard-normal tensor per length, from a generator seeded ``seed``."""
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(t, features, generator=g) for t in lengths]


def padded_with_junk(seqs: list[torch.Tensor], extra: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, T + extra, F) padded batch whose pads hold 7.0 (a model must not read them), and the lengths."""
    from torch.nn.utils.rnn import pad_sequence

    x = pad_sequence(seqs, batch_first=True)                                    # (B, T, F)
    x = torch.cat([x, torch.full((len(seqs), extra, x.shape[2]), 7.0)], dim=1)  # junk in the pads
    return x, torch.tensor([len(s) for s in seqs])


def settle(model: torch.nn.Module, seqs: list[torch.Tensor], times: int = 3) -> torch.nn.Module:
    """``times`` training-mode passes over ``seqs`` (padded with junk), moving every batch norm's
    running statistics away from 0 / 1, then evaluation mode; returns the model."""
    model.train()
    for _ in range(times):
        model(*padded_with_junk(seqs))
    return model.eval()


def assert_each_alone_equals_its_row(model: torch.nn.Module, seqs: list[torch.Tensor], batch: torch.Tensor) -> None:
    """Each sequence of ``seqs`` run alone gives its row of ``batch`` (the model's output on them padded)."""
    for i, s in enumerate(seqs):
        torch.testing.assert_close(batch[i:i + 1], model(s[None], torch.tensor([len(s)])), rtol=1e-5, atol=1e-5)

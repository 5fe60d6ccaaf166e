"""Variable-length sequence datasets and their collation into packed or padded batches.

A dataset item is ``(features (T, F) float array, target int)``. Two collate functions
turn a list of items into a batch dict the classifier's ``compute_loss`` understands:

- :func:`collate_packed` -> ``{"x": PackedSequence, "y": (B,) int64}``, built with
  ``enforce_sorted=False``: the batch keeps its order, the recurrent layer sees the
  rows sorted by length and hands ``h_n`` back in the original order;
- :func:`collate_padded` -> ``{"x": (B, T_max, F) zero-padded, "lengths": (B,) int64,
  "y": (B,) int64}``, batch-first.

Both keep the dtype of the features (float32 by default, float64 for exact checks).
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import torch
from torch.nn.utils.rnn import pack_sequence, pad_sequence

from rnnkit.errors import DataError

__all__ = ["SequenceDataset", "collate_packed", "collate_padded", "to_tensors"]


class SequenceDataset(torch.utils.data.Dataset):
    """Sequences of shape (T_i, F) with integer targets (or -1 when unlabelled).

    ``transform(i)``, when given, is called instead of returning the stored features, so
    a training set can compute fresh (for example augmented) features each epoch.
    """

    def __init__(self, features: Sequence[np.ndarray], targets: Sequence[int] | None = None,
                 names: Sequence[str] | None = None,
                 transform: Callable[[int], np.ndarray] | None = None) -> None:
        self.features = list(features)
        self.targets = [-1] * len(self.features) if targets is None else [int(t) for t in targets]
        self.names = [str(i) for i in range(len(self.features))] if names is None else list(names)
        self.transform = transform
        if not self.features:
            raise DataError("a sequence dataset needs at least one sequence, got none")
        if not len(self.features) == len(self.targets) == len(self.names):
            raise DataError(
                f"features, targets and names differ in length: "
                f"{len(self.features)}, {len(self.targets)}, {len(self.names)}"
            )
        dims = {np.shape(f)[1] if np.ndim(f) == 2 else None for f in self.features}
        if len(dims) != 1 or None in dims:
            raise DataError(f"every sequence must be 2-D (T, F) with one F; feature sizes seen: {sorted(map(str, dims))}")
        for name, f in zip(self.names, self.features):
            if np.shape(f)[0] == 0:
                raise DataError(f"{name}: sequence has zero time steps")
        self.n_features = int(dims.pop())

    def __len__(self) -> int:
        return len(self.features)

    def __getitem__(self, i: int) -> tuple[np.ndarray, int]:
        feats = self.transform(i) if self.transform is not None else self.features[i]
        # a transform may return (features, soft target (K,)) itself (mixup)
        return feats if isinstance(feats, tuple) else (feats, self.targets[i])

    def lengths(self) -> list[int]:
        return [int(np.shape(f)[0]) for f in self.features]


def to_tensors(items: Sequence[tuple[np.ndarray, int]]) -> tuple[list[torch.Tensor], torch.Tensor]:
    seqs = [torch.as_tensor(np.ascontiguousarray(f)) for f, _ in items]  # each (T_i, F)
    if items and isinstance(items[0][1], np.ndarray):  # soft targets (mixup): class probabilities (B, K)
        return seqs, torch.as_tensor(np.stack([np.asarray(t, dtype=np.float32) for _, t in items]))
    targets = torch.tensor([int(t) for _, t in items], dtype=torch.long)  # (B,)
    return seqs, targets


def collate_packed(items: Sequence[tuple[np.ndarray, int]]) -> dict:
    """Items -> ``{"x": PackedSequence (sum T_i, F), "y": (B,)}`` in the items' order."""
    seqs, targets = to_tensors(items)
    return {"x": pack_sequence(seqs, enforce_sorted=False), "y": targets}


def collate_padded(items: Sequence[tuple[np.ndarray, int]]) -> dict:
    """Items -> ``{"x": (B, T_max, F), "lengths": (B,), "y": (B,)}``, zeros after each end."""
    seqs, targets = to_tensors(items)
    lengths = torch.tensor([s.shape[0] for s in seqs], dtype=torch.long)  # (B,)
    return {"x": pad_sequence(seqs, batch_first=True), "lengths": lengths, "y": targets}

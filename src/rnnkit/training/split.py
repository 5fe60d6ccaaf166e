"""A reproducible train/validation split of a Dataset."""
from __future__ import annotations

import torch
from torch.utils.data import Dataset, Subset

from rnnkit.errors import ConfigError

__all__ = ["train_val_split"]


def train_val_split(
    dataset: Dataset, val_fraction: float = 0.2, seed: int = 0, shuffle: bool = True
) -> tuple[Subset, Subset]:
    """Split into (train, val) subsets; ``val`` gets ``round(n * val_fraction)`` items (at least 1).

    ``shuffle=False`` keeps order and puts the *last* items in validation, which is
    what time series need (no look-ahead). The permutation uses its own generator
    seeded with ``seed``, so the global RNG is not consumed.
    """
    if not 0.0 < val_fraction < 1.0:
        raise ConfigError(f"val_fraction must be between 0 and 1 (exclusive), got {val_fraction!r}")
    n = len(dataset)  # type: ignore[arg-type]
    if n < 2:
        raise ConfigError(f"a train/validation split needs at least 2 items, got {n}")
    n_val = min(max(1, round(n * val_fraction)), n - 1)
    if shuffle:
        order = torch.randperm(n, generator=torch.Generator().manual_seed(seed)).tolist()
    else:
        order = list(range(n))
    return Subset(dataset, order[: n - n_val]), Subset(dataset, order[n - n_val :])

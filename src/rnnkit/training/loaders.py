"""What the trainer reads off a loader without looking inside its batches."""
from __future__ import annotations

from typing import Optional

import torch

__all__ = ["loader_length", "loader_generators"]


def loader_length(loader) -> Optional[int]:
    """len(loader), or None for a loader without a length (or no loader)."""
    try:
        return len(loader) if loader is not None else None
    except TypeError:
        return None


def loader_generators(loader) -> list[torch.Generator]:
    """Explicit torch.Generators a DataLoader shuffles with (restored on resume)."""
    found = []
    for obj in (loader, getattr(loader, "sampler", None), getattr(loader, "batch_sampler", None)):
        g = getattr(obj, "generator", None)
        if isinstance(g, torch.Generator) and all(g is not x for x in found):
            found.append(g)
    sampler = getattr(getattr(loader, "batch_sampler", None), "sampler", None)
    g = getattr(sampler, "generator", None)
    if isinstance(g, torch.Generator) and all(g is not x for x in found):
        found.append(g)
    return found

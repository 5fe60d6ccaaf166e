"""Shared by the model tests: the weight average computed by hand from its formulas."""
from __future__ import annotations

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

"""How :class:`~rnnkit.tasks.classify.Classifier` puts its training series into batches:
shuffled (the default), or one group per batch (``group_batches=True``).

One group per batch: ``fit(X, y, groups=...)`` names the group of every series (its speaker,
session, site, ...), and each training batch holds the series of one group only, the groups
in a new order every epoch. Batch normalisation (the hybrid's convolutions) then normalises
every batch by one group's own statistics, so the network learns to recognise the classes
once a group's overall shift is taken out. At prediction the same is done for the new group
by :func:`rnnkit.tasks.classify.adapt.adapted` (``rnnkit classify predict --adapt``): its
statistics are re-estimated from that group's inputs. Trained this way, a model meant to be
adapted is adapted to what it was trained on. On the spoken digits, where a group is a voice,
this carried recognition to synthesis engines never heard in training far better than
adapting a model trained on shuffled batches (benchmarks/RESULTS_classify.md, "Fifteenth
pass"). A batch is then one group, whatever ``batch_size`` says, and the step budget counts
the mean group size as the batch.
"""
from __future__ import annotations

import os
from typing import Any

import numpy as np
import torch

from rnnkit.data.sequences import collate_packed
from rnnkit.errors import ConfigError, DataError

__all__ = ["GroupBatches", "check_groups", "train_loader"]


class GroupBatches(torch.utils.data.Sampler):
    """Batches of dataset indices, one group each, in an order drawn from (seed, epoch) when the
    epoch starts (a trainer callback, as :class:`~.fitting.EpochRng`), so a resumed run repeats
    the batches of an uninterrupted one. Within a batch, series keep their order in ``groups``."""

    def __init__(self, groups: Any, seed: int) -> None:
        members: dict[Any, list[int]] = {}
        for i, group in enumerate(groups):
            members.setdefault(group, []).append(i)
        self.members = list(members.values())  # by first appearance
        self.seed, self.epoch = seed, 0

    def on_epoch_start(self, trainer, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self):
        order = np.random.default_rng([self.seed, self.epoch, 1]).permutation(len(self.members))
        return (list(self.members[k]) for k in order)

    def __len__(self) -> int:
        return len(self.members)


def train_loader(dataset, batch_size: int, seed: int, groups: np.ndarray | None = None):
    """(the training DataLoader, the callback it needs or None): shuffled batches of
    ``batch_size`` from a generator seeded by ``seed``, or with ``groups`` one group a batch."""
    if groups is None:
        return torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=True, collate_fn=collate_packed,
                                           generator=torch.Generator().manual_seed(seed)), None
    sampler = GroupBatches(groups.tolist(), seed)
    return torch.utils.data.DataLoader(dataset, batch_sampler=sampler, collate_fn=collate_packed), sampler


def check_groups(est: Any, groups: Any, n: int) -> np.ndarray | None:
    """fit's ``groups`` as an array of ``n`` group labels when ``est.group_batches``, else None
    (then they are not used); a one-line ConfigError or DataError for what cannot work."""
    if not isinstance(est.group_batches, (bool, np.bool_)):
        raise ConfigError(f"group_batches must be True or False, got {est.group_batches!r}")
    if not est.group_batches:
        return None
    if groups is None:
        raise DataError("group_batches=True needs fit(X, y, groups=...): the group of every series "
                        "(its speaker, session, ...)")
    groups = np.asarray(groups, dtype=object)
    if groups.ndim != 1 or len(groups) != n:
        raise DataError(f"groups must hold one group per series: got shape {groups.shape} for {n} series")
    if est.model != "lstm_fcn":
        raise ConfigError(f"group_batches=True needs model='lstm_fcn' (got {est.model!r}): only its "
                          f"batch normalisation learns from the batches' groups")
    if est.partner is not None:
        raise ConfigError(f"group_batches=True needs partner=None (got {est.partner!r}): the partner's "
                          f"held-out network would be fitted without the groups")
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        raise ConfigError("group_batches=True trains in one process; it does not run under torchrun")
    return groups

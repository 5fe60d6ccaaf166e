"""Weight averaging shared by the classification networks (``weight_average``, off by default).

A network built with ``weight_average`` "ema" or "swa" keeps a copy ``a`` of every
parameter ``p``, and of every running statistic of its normalisation layers (the float
buffers of :class:`~rnnkit.models.masked_norm.MaskedBatchNorm1d` and torch's batch norms),
as buffers under ``average.*`` (so checkpoints carry it and a resumed run ends
bit-identical). ``update_average()`` folds in the current values, n being the updates so
far::

    n = 0:  a <- p
    ema:    a <- d a + (1 - d) p          d = average_decay
    swa:    a <- a + (p - a) / (n + 1)    the plain mean of the n + 1 snapshots

``use_average()`` copies every ``a`` back (what a trained model is saved with; the
classifier's saved folder then leaves the buffers out, :mod:`rnnkit.tasks.classify.persist`).
When to update is the trainer's business (:class:`rnnkit.tasks.classify.fitting.WeightAverage`).

Why the running statistics too: evaluation normalises with them, and the statistics of the
last step belong to the last weights, not to their average; averaging them by the same rule
gives the averaged weights statistics collected along the same stretch of training, at no
cost (torch's ``swa_utils.AveragedModel(use_buffers=True)`` does the same; the other recipe,
``update_bn``, recomputes them with one more pass over the training data after training,
which the estimator's crops and the resume design would have to repeat exactly). Integer
buffers (a ``num_batches_tracked``) and the network's own fixed buffers (``input_mean``,
``input_std``, ``class_weights``) are left alone.

Why buffers of our own and not ``torch.optim.swa_utils.AveragedModel``: that wraps a deep
copy of the network as a module; held inside the network, the copy's parameters would join
the optimizer's and DDP's parameters and its keys would differ from the ones saved so far;
held outside, checkpoints would not carry the average and a resumed run would lose it.
"""
from __future__ import annotations

import torch
from torch import nn

from rnnkit.errors import ConfigError
from rnnkit.models.masked_norm import MaskedBatchNorm1d

__all__ = ["AVERAGES", "WeightAveraging"]

AVERAGES = ("none", "ema", "swa")
_NORMS = (MaskedBatchNorm1d, nn.modules.batchnorm._NormBase)


def _key(name: str) -> str:
    return name.replace(".", "__")


class WeightAveraging:
    """update_average / use_average for an nn.Module (mixed in); call :meth:`_init_average`
    at the end of ``__init__``, after every parameter and buffer exists."""

    def _init_average(self, weight_average: str, average_decay: float) -> None:
        if weight_average not in AVERAGES:
            raise ConfigError(f"model weight_average must be one of {', '.join(AVERAGES)}, got {weight_average!r}")
        if not 0.0 < average_decay < 1.0:
            raise ConfigError(f"model average_decay must be in (0, 1), got {average_decay}")
        self.weight_average = weight_average
        self.average_decay = float(average_decay)
        if weight_average != "none":
            average = nn.Module()
            for name, t in self._averaged_sources():
                average.register_buffer(_key(name), t.detach().clone())
            average.register_buffer("count", torch.zeros((), dtype=torch.int64))
            self.average = average  # registered last: never among its own sources

    def _averaged_sources(self) -> list[tuple[str, torch.Tensor]]:
        """(name, tensor) of what is averaged: the parameters, then the norms' float buffers."""
        out = list(self.named_parameters())
        for prefix, module in self.named_modules():
            if isinstance(module, _NORMS):
                out += [(f"{prefix}.{n}", b) for n, b in module.named_buffers(recurse=False)
                        if b is not None and b.is_floating_point()]
        return out

    def _averaged(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        if self.weight_average == "none":
            raise ConfigError("this model was built with weight_average='none': it keeps no average")
        return [(t, getattr(self.average, _key(name))) for name, t in self._averaged_sources()]

    @torch.no_grad()
    def update_average(self) -> None:
        """Fold the current parameters and running statistics into the average (module doc)."""
        pairs, n = self._averaged(), int(self.average.count)
        for p, a in pairs:
            if n == 0:
                a.copy_(p)
            elif self.weight_average == "ema":
                a.lerp_(p, 1.0 - self.average_decay)
            else:
                a.add_((p - a) / (n + 1))
        self.average.count += 1

    @torch.no_grad()
    def use_average(self) -> None:
        """Copy the average into the parameters and running statistics (a no-op before the
        first update)."""
        pairs = self._averaged()
        if int(self.average.count) > 0:
            for p, a in pairs:
                p.copy_(a)

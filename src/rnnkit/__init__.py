"""rnnkit: recurrent neural networks for sequence data, on PyTorch.

Layers (import costs stay low: subpackages load on first use):

- :mod:`rnnkit.reference`: NumPy RNN/LSTM/GRU with hand-written BPTT (the oracle).
- :mod:`rnnkit.nn`: drop-in ``RNN``/``LSTM``/``GRU`` and cells, exact against ``torch.nn``.
- :mod:`rnnkit.models`: task models (forward and loss only).
- :mod:`rnnkit.data`: readers, windowing, scalers, tokenizers, collation.
- :mod:`rnnkit.training`: configs, the model-agnostic trainer, checkpoints, metrics.
- :mod:`rnnkit.cli`: the ``rnnkit`` command.
"""
from __future__ import annotations

import importlib
from typing import Any

from rnnkit.errors import CheckpointError, ConfigError, DataError, RnnkitError

__version__ = "0.1.0"

_SUBPACKAGES = ("reference", "nn", "models", "data", "training", "cli")

__all__ = [
    "__version__",
    "RnnkitError",
    "DataError",
    "ConfigError",
    "CheckpointError",
    "Classifier",
    *_SUBPACKAGES,
]


def __getattr__(name: str) -> Any:
    if name == "Classifier":  # the sequence classifier estimator (loads torch on first use)
        from rnnkit.tasks.classify.estimator import Classifier

        return Classifier
    if name in _SUBPACKAGES:
        return importlib.import_module(f"rnnkit.{name}")
    raise AttributeError(f"module 'rnnkit' has no attribute {name!r}")

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
    "Forecaster",
    "Classifier",
    "SpeechClassifier",
    "LanguageModel",
    *_SUBPACKAGES,
]


# the object of each task, imported on first use (each loads torch): name -> its module
_OBJECTS = {"Forecaster": "rnnkit.tasks.forecast.estimator", "Classifier": "rnnkit.tasks.classify.estimator",
            "SpeechClassifier": "rnnkit.tasks.classify.speech", "LanguageModel": "rnnkit.tasks.text.estimator"}


def __getattr__(name: str) -> Any:
    if name in _OBJECTS:
        return getattr(importlib.import_module(_OBJECTS[name]), name)
    if name in _SUBPACKAGES:
        return importlib.import_module(f"rnnkit.{name}")
    raise AttributeError(f"module 'rnnkit' has no attribute {name!r}")

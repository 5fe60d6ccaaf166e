"""The one factory of sequence-classification networks: a name -> a module class.

``rnnkit.tasks.classify.Classifier(model="rnn", ...)`` and the registry (which rebuilds a
saved classifier from its model.json) both build networks here, so a new architecture is
one entry in :data:`NETWORKS`.

A network class is constructed as ``cls(input_size=C, num_classes=K, **options)`` with
JSON-serialisable options (they are saved in model.json as ``"model"``), and offers:

    forward(x: PackedSequence (sum T_i, C)) -> logits (B, C)     batch order kept
    compute_loss({"x": PackedSequence, "y": (B,) int64}) -> scalar mean loss
    predict_proba(x: PackedSequence) -> (B, K), rows sum to 1

:func:`network_options` keeps, of the options a caller offers, those the class's
constructor accepts (an option an architecture does not use, e.g. ``pooling`` for a
network without pooling, is left out here; the ``Classifier`` refuses one set away from its
default, :func:`rnnkit.tasks.classify.params.check_network_params`). A new architecture option
reaches the network once it is a ``Classifier`` constructor argument listed in
``rnnkit.tasks.classify.params.NETWORK_ARGS``. Networks that take ``input_mean`` and
``input_std`` get the "channel" normalisation statistics (so an exported network holds
them); for others the estimator normalises the arrays itself.
"""
from __future__ import annotations

import inspect
from typing import Any

from torch import nn

from rnnkit.errors import ConfigError
from rnnkit.models.classifier import SequenceClassifier
from rnnkit.models.lstm_fcn import LSTMFCN

__all__ = ["NETWORKS", "DEFAULT_NETWORK", "network_class", "network_options", "build_network"]

#: network name -> class; ``"rnn"`` is the recurrent classifier (also what model.json
#: files without a ``"network"`` key hold), ``"lstm_fcn"`` the recurrent + convolutional
#: hybrid (:mod:`rnnkit.models.lstm_fcn`)
NETWORKS: dict[str, type[nn.Module]] = {"rnn": SequenceClassifier, "lstm_fcn": LSTMFCN}
DEFAULT_NETWORK = "rnn"


def network_class(name: str) -> type[nn.Module]:
    """The class registered under ``name``; anything else is a one-line ConfigError."""
    if not isinstance(name, str) or name not in NETWORKS:
        raise ConfigError(f"model must be one of {', '.join(sorted(NETWORKS))}, got {name!r}")
    return NETWORKS[name]


def network_options(name: str, offered: dict[str, Any]) -> dict[str, Any]:
    """The items of ``offered`` that network ``name``'s constructor takes as keywords."""
    params = inspect.signature(network_class(name).__init__).parameters
    return {k: v for k, v in offered.items() if k in params and k not in ("input_size", "num_classes")}


def build_network(name: str, n_channels: int, n_classes: int, **options: Any) -> nn.Module:
    """Network ``name`` for ``n_channels`` inputs per step and ``n_classes`` classes."""
    return network_class(name)(input_size=n_channels, num_classes=n_classes, **options)

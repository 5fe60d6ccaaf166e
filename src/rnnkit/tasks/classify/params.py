"""The checks of :class:`~rnnkit.tasks.classify.Classifier`'s constructor arguments, run by
``fit`` (scikit-learn estimators keep ``__init__`` to plain assignments), its seed, and the
arguments it offers the network (:data:`NETWORK_ARGS`; :func:`check_network_params` refuses
one set away from its default that the chosen network does not take, which would otherwise
be dropped without a word)."""
from __future__ import annotations

import inspect
from typing import Any

import numpy as np

from rnnkit.errors import ConfigError
from rnnkit.tasks.classify.side import jobs_of

__all__ = ["NETWORK_ARGS", "check_params", "check_network_params", "seed_of"]

# constructor arguments offered to the network factory (each network takes those it knows)
NETWORK_ARGS = ("filters", "kernels", "dilations", "conv_steps", "rnn_steps", "cell", "hidden_size", "num_layers",
                "bidirectional", "pooling", "dropout", "members", "deltas", "label_smoothing", "backend",
                "weight_average", "average_decay", "summary", "summary_member", "pooling_conv", "input_norm")


def seed_of(random_state: Any) -> int:
    """The int seed a fit uses: ``random_state`` itself, one drawn from a numpy RandomState, or
    a fresh one for None; anything else is a one-line ConfigError."""
    if random_state is None:
        return int(np.random.default_rng().integers(2**31 - 1))
    if isinstance(random_state, np.random.RandomState):  # scikit-learn's other form
        return int(random_state.randint(2**31 - 1))
    if isinstance(random_state, (bool, np.bool_)) or not isinstance(random_state, (int, np.integer)):
        raise ConfigError(f"random_state must be an int, a numpy RandomState or None, "
                          f"got {random_state!r}")
    return int(random_state)


def check_params(est: Any) -> None:
    """One-line ConfigError for the first constructor argument of ``est`` (a Classifier) out of range."""
    if not (est.class_weight is None or est.class_weight == "balanced" or isinstance(est.class_weight, dict)):
        raise ConfigError(f"class_weight must be None, 'balanced' or a dict label -> weight, "
                          f"got {est.class_weight!r}")
    if not 0.0 <= est.validation_fraction < 1.0:
        raise ConfigError(f"validation_fraction must be in [0, 1), got {est.validation_fraction!r}")
    if not 0.0 <= est.average_start < 1.0:
        raise ConfigError(f"average_start must be in [0, 1), got {est.average_start!r}")
    if est.work_budget is not None and not float(est.work_budget) > 0:
        raise ConfigError(f"work_budget must be > 0 or None, got {est.work_budget!r}")
    if est.jitter < 0:
        raise ConfigError(f"jitter must be >= 0, got {est.jitter!r}")
    if not 0.0 < est.crop <= 1.0:
        raise ConfigError(f"crop must be in (0, 1], got {est.crop!r}")
    if (isinstance(est.crop_min_length, (bool, np.bool_)) or not isinstance(est.crop_min_length, (int, np.integer))
            or est.crop_min_length < 1):
        raise ConfigError(f"crop_min_length must be an int >= 1, got {est.crop_min_length!r}")
    if (isinstance(est.summary, (bool, np.bool_)) or not isinstance(est.summary, (int, np.integer))
            or not (est.summary == 0 or est.summary >= 2)):
        raise ConfigError(f"summary must be 0 (off) or an int >= 2 (quantile levels), got {est.summary!r}")
    if not (isinstance(est.members, str) and est.members == "auto") and (
            isinstance(est.members, (bool, np.bool_)) or not isinstance(est.members, (int, np.integer))
            or est.members < 1):
        raise ConfigError(f"members must be 'auto' or an int >= 1, got {est.members!r}")
    if est.partner not in (None, "trees"):
        raise ConfigError(f"partner must be None or 'trees', got {est.partner!r}")
    if not 0.0 <= est.partner_fraction < 1.0:
        raise ConfigError(f"partner_fraction must be in [0, 1), got {est.partner_fraction!r}")
    if not isinstance(est.partner_ensemble, (bool, np.bool_)):
        raise ConfigError(f"partner_ensemble must be True or False, got {est.partner_ensemble!r}")
    jobs_of(est.n_jobs)
    for name in ("min_steps", "max_steps", "batch_size"):
        if int(getattr(est, name)) < 1:
            raise ConfigError(f"{name} must be >= 1, got {getattr(est, name)!r}")
    if est.min_steps > est.max_steps:
        raise ConfigError(f"min_steps ({est.min_steps}) must be <= max_steps ({est.max_steps})")
    if isinstance(est.epochs, str) and est.epochs != "auto" or not isinstance(est.epochs, str) and not est.epochs > 0:
        raise ConfigError(f"epochs must be > 0 or 'auto', got {est.epochs!r}")
    if isinstance(est.filters, str) and est.filters != "auto":
        raise ConfigError(f"filters must be 'auto', None or a sequence of ints, got {est.filters!r}")
    if est.early_stopping not in ("loss", "accuracy"):
        raise ConfigError(f"early_stopping must be 'loss' or 'accuracy', got {est.early_stopping!r}")
    if est.patience is not None and int(est.patience) < 1:
        raise ConfigError(f"patience must be >= 1 or None, got {est.patience!r}")


def _same(a: Any, b: Any) -> bool:
    """a == b, sequences compared item by item (a tuple default, a list from a config)."""
    if isinstance(a, (list, tuple, np.ndarray)) or isinstance(b, (list, tuple)):
        return isinstance(a, (list, tuple, np.ndarray)) and isinstance(b, (list, tuple)) and [*a] == [*b]
    return bool(a == b)


def check_network_params(est: Any) -> None:
    """One-line ConfigError for an argument of :data:`NETWORK_ARGS` that ``est.model``'s network
    does not take, set to anything but its default or None (e.g. ``deltas=True`` with the
    hybrid, ``filters=(8, 8)`` with "rnn")."""
    from rnnkit.models.networks import network_options

    defaults = {k: p.default for k, p in inspect.signature(type(est).__init__).parameters.items()}
    taken = network_options(est.model, dict.fromkeys(NETWORK_ARGS))
    for name in NETWORK_ARGS:
        value = getattr(est, name)
        if name not in taken and value is not None and not _same(value, defaults[name]):
            raise ConfigError(f"{name}={value!r} does not apply to model={est.model!r} (its network does not "
                              f"take it); leave {name} at {defaults[name]!r} or choose another model")

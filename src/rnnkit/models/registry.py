"""The ``model.json`` schema and the registry that rebuilds any saved model from it.

A saved model folder holds ``model.safetensors`` and ``model.json``. Since format 1,
``model.json`` carries two tags beside the model's constructor arguments::

    {"task": "text" | "classify" | "forecast" | "recurrent" | "diagnose", "format": 1, ...}

``build_model(info)`` looks the task up here and builds the (untrained) module; the
caller loads the weights (``training.checkpoint.load_model``). Files written before
the tags (format 0) are recognised once, here, by the keys each task always wrote
(:func:`task_of`), so models saved by older versions still load; nothing else in
rnnkit looks at the keys to find the task.
"""
from __future__ import annotations

from collections.abc import Callable

from torch import nn

from rnnkit.errors import CheckpointError, RnnkitError

__all__ = ["MODEL_FORMAT", "TASKS", "tagged", "untagged", "task_of", "build_model"]

MODEL_FORMAT = 1
_TAGS = ("task", "format")
_CHARLM_KEYS = ("vocab_size", "embed_dim", "hidden_size", "num_layers", "cell", "dropout", "backend")


def tagged(task: str, config: dict) -> dict:
    """``config`` with the ``task`` and ``format`` tags first (what a task saves)."""
    if task not in TASKS:
        raise ValueError(f"task must be one of {sorted(TASKS)}, got {task!r}")
    return {"task": task, "format": MODEL_FORMAT, **untagged(config)}


def untagged(config: dict) -> dict:
    """The constructor part of a model.json (the tags left out)."""
    return {k: v for k, v in config.items() if k not in _TAGS}


def _legacy_task(info: dict) -> str | None:
    """The task of a format-0 model.json (no tag), from the keys its task always wrote."""
    inner = info.get("model") if isinstance(info.get("model"), dict) else info
    if "labels" in info and isinstance(info.get("model"), dict):
        return "classify"
    if {"horizon", "members"} <= set(info):
        return "forecast"
    if {"vocab_size", "embed_dim"} <= set(inner):
        return "text"
    if {"input_size", "hidden_size", "output_size", "head"} <= set(info):
        return "recurrent"
    return None


def task_of(info: dict, where: str = "model.json") -> str:
    """The task tag of a model.json (format 0 files: recognised by their keys)."""
    fmt = info.get("format", 0)
    if not isinstance(fmt, int) or isinstance(fmt, bool) or not 0 <= fmt <= MODEL_FORMAT:
        raise CheckpointError(f"{where}: format {fmt!r} is not one this rnnkit reads "
                              f"(0 to {MODEL_FORMAT}); is it from a newer rnnkit?")
    task = info.get("task", _legacy_task(info) if fmt == 0 else None)
    if task not in TASKS:
        seen = f"task {task!r}" if "task" in info else f"keys {sorted(info)[:8]}"
        raise CheckpointError(f"{where}: {seen} is not a model rnnkit knows "
                              f"(tasks: {', '.join(sorted(TASKS))})")
    return task


def _text(info: dict) -> nn.Module:
    from rnnkit.models.charlm import CharLM

    inner = info["model"] if isinstance(info.get("model"), dict) else info
    return CharLM(**{k: inner[k] for k in _CHARLM_KEYS if k in inner})


def _classify(info: dict) -> nn.Module:
    from rnnkit.models.classifier import LEGACY_RNN_IMPL
    from rnnkit.models.networks import DEFAULT_NETWORK, network_class

    try:
        cls = network_class(info.get("network", DEFAULT_NETWORK))
    except RnnkitError as err:
        raise CheckpointError(f"model.json: {err}") from None
    args = dict(info["model"])
    if "rnn_impl" in args:  # written before the key was ``backend``
        impl = args.pop("rnn_impl")
        if impl not in LEGACY_RNN_IMPL:
            raise CheckpointError(f"model.json: model.rnn_impl {impl!r} is not 'rnnkit' or 'torch'")
        args.setdefault("backend", LEGACY_RNN_IMPL[impl])
    return cls(**args)


def _forecast(info: dict) -> nn.Module:
    """`rnnkit forecast` now saves a Forecaster (forecaster.json, no model.json); a model.json
    tagged "forecast" comes from the per-series RNNForecaster of older versions."""
    raise CheckpointError(
        "a forecast model saved by an older rnnkit (RNNForecaster, before the Forecaster); "
        "retrain it with: rnnkit forecast train"
    )


def _recurrent(info: dict) -> nn.Module:
    from rnnkit.models.recurrent import RecurrentModel

    return RecurrentModel(**untagged(info))


def _diagnose(info: dict) -> nn.Module:
    """Models that `rnnkit diagnose` trains on a long-memory problem (rnnkit.diagnostics
    builds them; it sits above this package) are opened by `rnnkit diagnose --model DIR`."""
    raise CheckpointError(
        f"a model saved by rnnkit diagnose ({info.get('cell')} on {info.get('problem')}); "
        "open it with: rnnkit diagnose --model DIR"
    )


#: task tag -> builder of the untrained module from its model.json
TASKS: dict[str, Callable[[dict], nn.Module]] = {
    "text": _text, "classify": _classify, "forecast": _forecast, "recurrent": _recurrent,
    "diagnose": _diagnose,
}


def build_model(info: dict, where: str = "model.json") -> nn.Module:
    """The untrained module a model.json describes, built by its task's builder."""
    return TASKS[task_of(info, where)](info)

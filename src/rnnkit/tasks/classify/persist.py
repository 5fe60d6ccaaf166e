"""Saving and loading a fitted :class:`~rnnkit.tasks.classify.Classifier`; no pickle.

A model folder holds ``model.safetensors`` (the network's weights) and ``model.json``
(registry format: the network's arguments, the labels, the fitted normalisation, the
constructor arguments that JSON keeps exactly, :func:`json_params`), and, with a tree
partner, ``partner.safetensors`` (:mod:`.partner`); with a second network kept
(``partner_ensemble``), its weights in ``partner_network.safetensors`` and its network
arguments and normalisation in model.json's ``partner.network`` (the same architecture as
the first network's: only the statistics a network applies itself, ``input_mean`` and
``input_std``, may differ). A network fitted with weight averaging has the average in its
weights at the end of ``fit``; it is saved without the ``average.*`` buffers, which would
double the file, and its arguments in model.json say ``weight_average="none"`` (the network
as saved keeps no average; the ``estimator`` table still names what the fit used). Every file
is written atomically and read back with one-line :class:`~rnnkit.errors.CheckpointError`
for anything out of place.
A folder saved by an older rnnkit loads with the behaviour it was trained with: an option
it does not name gets the value that meant "off" then (see :func:`load_classifier`).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from safetensors.torch import save as st_save
from sklearn.utils.validation import check_is_fitted

from rnnkit.errors import CheckpointError
from rnnkit.models.registry import build_model
from rnnkit.tasks.classify.arrays import Normalizer
from rnnkit.tasks.classify.partner import PARTNER_FILE, load_partner
from rnnkit.training.checkpoint import (load_model, load_weights_into, read_finite_safetensors, save_model,
                                       weights_bytes)

__all__ = ["SECOND_FILE", "json_params", "save_classifier", "load_classifier"]

# options added after models were first saved, and the value each had before it existed
_BEFORE = {"crop": 1.0,              # saved before window slicing: none
           "crop_min_length": 1,     # saved before the minimum: every series
           "summary": 0,             # saved before the summary branch: none
           "summary_member": False,
           "pooling_conv": "mean",
           "partner": None,          # saved before the tree partner: none
           "partner_ensemble": False,  # saved before the second network was kept: not kept
           "members": 1,             # saved before "auto" was the default (refits train one)
           "weight_average": "none"}   # saved before averaging was the default (the network's
                                       # own arguments say what it was trained with)
SECOND_FILE = "partner_network.safetensors"
_OWN_STATS = ("input_mean", "input_std")  # what the second network's arguments may change


def json_params(params: dict) -> dict:
    """The constructor arguments that JSON keeps exactly (others are left out of model.json:
    a ``class_weight`` dict, whose effect lives in the network's weights)."""
    return {k: v for k, v in params.items() if v is None or isinstance(v, (bool, int, float, str))}


def _no_average(model_args: dict) -> dict:
    """A network's arguments as saved: no weight average kept (module doc)."""
    return {**model_args, "weight_average": "none"} if "weight_average" in model_args else model_args


def _plain_weights(network) -> dict:
    """The network's state without its ``average.*`` buffers."""
    return {k: t for k, t in network.state_dict().items() if not k.startswith("average.")}


def save_classifier(est, path: str | Path) -> None:
    """Write the fitted ``est`` into folder ``path`` (module doc)."""
    check_is_fitted(est, "network_")
    info = {**est.info_, "model": _no_average(est.info_["model"])}
    forest = getattr(est, "partner_", None)
    extra = {PARTNER_FILE: st_save(forest.to_tensors())} if forest is not None else {}
    second = getattr(est, "partner_network_", None)
    if second is not None:
        spec = info["partner"]["network"]
        info["partner"] = {**info["partner"], "network": {**spec, "model": _no_average(spec["model"])}}
        extra[SECOND_FILE] = weights_bytes(_plain_weights(second))
    save_model(Path(path), _plain_weights(est.network_), info, extra or None)


def load_classifier(cls, path: str | Path):
    """The ``cls`` instance saved in ``path`` (a model folder, or a run folder holding ``model/``)."""
    path = Path(path)
    folder = path / "model" if (path / "model" / "model.json").is_file() else path
    if not (folder / "model.json").is_file():
        raise CheckpointError(f"{path}: no saved classifier here (expected {folder / 'model.json'})")
    network, info = load_model(folder, lambda c: build_model(c, str(folder / "model.json")))
    if "labels" not in info or not isinstance(info.get("input", {}), dict):
        raise CheckpointError(f"{folder / 'model.json'}: not a classifier's (no 'labels', or 'input' not a table)")
    inputs = info.get("input") or {}  # written by rnnkit classify train since it exists
    params = cls().get_params()
    saved = _BEFORE | dict(info.get("estimator") or {})
    est = cls(**{k: v for k, v in saved.items() if k in params})
    try:
        dtype = np.dtype(info["labels_dtype"]) if info.get("labels_dtype") else None
        est.classes_ = np.asarray(info["labels"], dtype=dtype)
        est.normalizer_ = Normalizer.from_dict(inputs.get("normalize") or {"mode": "none"})
        est.n_features_in_ = int(inputs.get("n_features", info["model"]["input_size"]))
    except (TypeError, ValueError, KeyError) as err:
        raise CheckpointError(f"{folder / 'model.json'}: {str(err).splitlines()[0]}") from None
    est.network_ = network.eval()
    est.info_ = info
    est.partner_, est.partner_weight_, est.partner_network_ = None, 1.0, None
    if info.get("partner"):
        load_partner(est, folder, info["partner"], len(est.classes_))
        if "network" in info["partner"]:
            _load_second(est, folder, info, info["partner"]["network"])
    return est


def _load_second(est, folder: Path, info: dict, spec) -> None:
    """Set ``est.partner_network_`` (and its normaliser) from model.json's ``partner.network``
    table ``spec`` and ``partner_network.safetensors``; its arguments must be the first
    network's but for :data:`_OWN_STATS` (so a tampered file cannot build another network)."""
    where = str(folder / "model.json")
    model = spec.get("model") if isinstance(spec, dict) else None
    if not isinstance(model, dict) or not isinstance(spec.get("normalize"), dict):
        raise CheckpointError(f"{where}: 'partner.network' must be a table with 'model' and 'normalize' tables")
    first = info["model"]
    if set(model) != set(first) or any(model[k] != first[k] for k in first if k not in _OWN_STATS):
        raise CheckpointError(f"{where}: 'partner.network.model' must repeat the network's arguments "
                              f"(only {', '.join(_OWN_STATS)} may differ)")
    path = folder / SECOND_FILE
    if not path.is_file():
        raise CheckpointError(f"{path}: missing (model.json names a second network)")
    try:
        est.partner_normalizer_ = Normalizer.from_dict(spec["normalize"])
    except (TypeError, ValueError, KeyError) as err:
        raise CheckpointError(f"{where}: partner.network.normalize: {str(err).splitlines()[0]}") from None
    network = build_model({**info, "model": model}, where)
    load_weights_into(network, read_finite_safetensors(path), str(path))
    est.partner_network_ = network.eval()
    est.partner_network_info_ = {"model": model, "normalize": spec["normalize"]}

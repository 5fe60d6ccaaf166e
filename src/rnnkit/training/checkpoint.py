"""Checkpoint and model folders: safetensors weights, JSON config, a weights-only state file.

A model folder holds ``model.safetensors`` (the state_dict) and ``model.json`` (the
model's constructor arguments). A training checkpoint adds ``state.pt``: optimizer,
scheduler, epoch, step, RNG states and early-stopping state, written by
``torch.save`` and read back only with ``torch.load(weights_only=True)``.

Safety rules for reading (a checkpoint may come from anyone):

- nothing is ever unpickled: safetensors has no code path for it, and ``state.pt``
  must be a torch zip archive loaded with ``weights_only=True``;
- the safetensors header is checked by hand before the library sees the file: a
  truncated file, a header longer than the file (or than 100 MB), a header that is
  not JSON, or tensor offsets past the end give a one-line CheckpointError
  (:mod:`rnnkit.training.safetensors_file`, re-exported here).

Every folder is written whole into a ``.tmp-*`` sibling, then swapped in
(:func:`rnnkit.training.atomic.swap_dir`), so a kill at any moment leaves the
previous complete folder in place. The swap replaces only a folder that holds nothing
but a saved model's files (:data:`FOLDER_FILES`), or nothing: saving into a folder that
holds anything else (the user's own files, sub-folders), or onto a file, is a one-line
CheckpointError that leaves it untouched.
"""
from __future__ import annotations

import io
import json
import math
import os
import shutil
from pathlib import Path
from typing import Any, Callable, Mapping

import torch
from safetensors.torch import save as st_save

from rnnkit.errors import CheckpointError
from rnnkit.training.atomic import fsync_dir, make_temp_dir, swap_dir
from rnnkit.training.jsonio import read_json_object
from rnnkit.training.safetensors_file import (DTYPES, MAX_HEADER_BYTES, ZIP_MAGIC, need_file, read_finite_safetensors,
                                              read_header, read_safetensors)

__all__ = [
    "WEIGHTS",
    "MODEL_JSON",
    "STATE",
    "FOLDER_FILES",
    "save_model",
    "weights_bytes",
    "load_model",
    "save_checkpoint",
    "load_state",
    "read_model_config",
    "read_safetensors",
    "read_finite_safetensors",
    "MAX_HEADER_BYTES",
    "load_weights_into",
    "all_finite",
    "check_model_config",
    "read_header",
    "check_against_header",
]

WEIGHTS = "model.safetensors"
MODEL_JSON = "model.json"
STATE = "state.pt"
# Every file a model folder of rnnkit holds: the three above, and those its tasks add (the text
# LanguageModel's estimator.json; a Classifier's partner.safetensors and partner_network.safetensors).
# A folder holding anything else is never replaced by a save (module doc).
FOLDER_FILES = frozenset({WEIGHTS, MODEL_JSON, STATE, "estimator.json", "partner.safetensors",
                          "partner_network.safetensors"})


# ----------------------------------------------------------------------------- write


def weights_bytes(model: torch.nn.Module | Mapping[str, torch.Tensor]) -> bytes:
    """A module's state (or the state given) as safetensors bytes: CPU copies, no shared storage."""
    state = model if isinstance(model, Mapping) else model.state_dict()
    tensors = {
        name: t.detach().to("cpu").clone().contiguous()  # clone: no shared storage
        for name, t in state.items()
        if isinstance(t, torch.Tensor)
    }
    return st_save(tensors, metadata={"format": "pt"})


def _write_file(path: Path, data: bytes) -> None:
    with path.open("wb") as fh:  # 0666 less the umask
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def _check_replaceable(target: Path, files: dict[str, bytes]) -> None:
    """A one-line CheckpointError unless ``target`` is absent or a folder of a saved model's files."""
    if target.exists() and not target.is_dir():
        raise CheckpointError(f"{str(target)!r} is a file, not a folder; save the model into a new folder")
    if target.is_dir():
        known = FOLDER_FILES | set(files)
        others = sorted(p.name + ("/" if p.is_dir() else "") for p in target.iterdir()
                        if p.name not in known or not p.is_file())
        if others:
            shown = ", ".join(others[:3]) + (f" and {len(others) - 3} more" if len(others) > 3 else "")
            raise CheckpointError(f"{str(target)!r} holds files that are not a saved model's ({shown}); a save "
                                  "replaces the whole folder, so save into a new folder or one a model was saved in")


def _write_folder(target: Path, files: dict[str, bytes]) -> None:
    target = Path(target)
    _check_replaceable(target, files)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = make_temp_dir(target)
    try:
        for name, data in files.items():
            _write_file(tmp / name, data)
        fsync_dir(tmp)
    except BaseException:  # a full disk, an interrupt: no half-written folder is left
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    swap_dir(tmp, target)


def _json_bytes(data: Any) -> bytes:
    try:
        return (json.dumps(data, indent=2, sort_keys=True) + "\n").encode("utf-8")
    except TypeError as err:
        raise CheckpointError(f"model config is not JSON-serialisable: {err}") from None


def save_model(
    dir: str | Path, model: torch.nn.Module | Mapping[str, torch.Tensor], model_config: dict,
    extra: dict[str, bytes] | None = None
) -> None:
    """Write ``model.safetensors``, ``model.json`` (and ``extra`` files) into ``dir`` atomically;
    ``model`` is a module, or the state (name -> tensor) to write in its place."""
    files = {WEIGHTS: weights_bytes(model), MODEL_JSON: _json_bytes(model_config), **(extra or {})}
    try:
        _write_folder(Path(dir), files)
    except OSError as err:  # a file where a parent folder should be, no permission, a full disk
        raise CheckpointError(f"{str(dir)!r} cannot be written: {err.strerror or err}") from None


def save_checkpoint(
    dir: str | Path, model: torch.nn.Module, model_config: dict, state: dict
) -> None:
    """Write a training checkpoint (weights, model.json, state.pt) into ``dir`` atomically."""
    buf = io.BytesIO()
    torch.save(state, buf)
    _write_folder(
        Path(dir),
        {WEIGHTS: weights_bytes(model), MODEL_JSON: _json_bytes(model_config), STATE: buf.getvalue()},
    )


# ------------------------------------------------------------------------------ read


def read_model_config(dir: str | Path) -> dict:
    path = Path(dir) / MODEL_JSON
    need_file(path)
    return read_json_object(path)


def load_weights_into(model: torch.nn.Module, tensors: dict[str, torch.Tensor], where: str) -> None:
    """``model.load_state_dict(tensors)`` with names and shapes checked first (one-line errors)."""
    expected = model.state_dict()
    missing = sorted(set(expected) - set(tensors))
    unexpected = sorted(set(tensors) - set(expected))
    if missing or unexpected:
        raise CheckpointError(
            f"{where}: weights do not match the model (missing {missing[:5]}, unexpected {unexpected[:5]})"
        )
    for name in expected:  # the model's order: the first layer's mismatch is named first
        t = tensors[name]
        if tuple(t.shape) != tuple(expected[name].shape):
            raise CheckpointError(
                f"{where}: {name!r} has shape {tuple(t.shape)} in the checkpoint "
                f"but {tuple(expected[name].shape)} in the model"
            )
    model.load_state_dict(tensors)


# Keys of model.json that count repeated parts (layers, ensemble members): each part holds
# at least one tensor, so none can exceed the number of tensors in the weights file. Sizes
# (``*_size``, ``*_dim``) are each a dimension of some weight, so none can exceed the
# number of stored numbers.
_COUNT_KEYS = ("num_layers", "members", "num_members")


def _check_counts(cfg: Any, n_tensors: int, n_numbers: int, where: str) -> None:
    """Refuse a count or size in ``cfg`` (at any depth) that the weights file cannot hold."""
    if isinstance(cfg, dict):
        for key, value in cfg.items():
            if type(value) is int and key in _COUNT_KEYS and value > n_tensors:
                raise CheckpointError(
                    f"{where!r}: {key} is {value} but the weights file holds only {n_tensors} tensors"
                )
            if type(value) is int and key.endswith(("_size", "_dim")) and value > n_numbers:
                raise CheckpointError(
                    f"{where!r}: {key} is {value} but the weights file holds only {n_numbers} numbers"
                )
            _check_counts(value, n_tensors, n_numbers, where)


def _build(build: Callable[[dict], torch.nn.Module], cfg: dict, dir: Path) -> torch.nn.Module:
    try:
        return build(cfg)
    except CheckpointError:
        raise
    except (TypeError, ValueError, KeyError, RuntimeError, NotImplementedError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise CheckpointError(f"{str(dir / MODEL_JSON)!r} cannot build the model: {first}") from None


def check_against_header(expected: dict[str, torch.Tensor], header: dict[str, dict], where: str) -> None:
    """Names, shapes and dtypes of a model's ``state_dict`` against a safetensors header."""
    missing = sorted(set(expected) - set(header))
    unexpected = sorted(set(header) - set(expected))
    if missing or unexpected:
        raise CheckpointError(
            f"{where}: weights do not match the model (missing {missing[:5]}, unexpected {unexpected[:5]})"
        )
    for name, t in expected.items():  # the model's order: the first layer's mismatch is named first
        shape, dtype = tuple(header[name]["shape"]), DTYPES[header[name]["dtype"]][0]
        if shape != tuple(t.shape):
            raise CheckpointError(
                f"{where}: {name!r} has shape {shape} in the checkpoint but {tuple(t.shape)} in the model"
            )
        if dtype != t.dtype:
            raise CheckpointError(
                f"{where}: {name!r} is stored as {str(dtype).replace('torch.', '')} "
                f"but the model's is {str(t.dtype).replace('torch.', '')}; refusing to cast it"
            )


def load_model(
    dir: str | Path, build: Callable[[dict], torch.nn.Module]
) -> tuple[torch.nn.Module, dict]:
    """Rebuild a model from ``model.json`` with ``build`` and load ``model.safetensors``.

    Validate before allocating: the weights' header is read alone; model.json's layer and
    member counts are bounded by the header's tensor count; the model is first built on
    the ``meta`` device (no memory) and its names, shapes and dtypes are compared with the
    header; only then are the weights read, refused unless finite, and the model built.
    """
    dir = Path(dir)
    cfg = read_model_config(dir)
    path = dir / WEIGHTS
    header = read_header(path)
    numbers = sum(math.prod(info["shape"]) for info in header.values())
    _check_counts(cfg, len(header), numbers, str(dir / MODEL_JSON))
    with torch.device("meta"):
        skeleton = _build(build, cfg, dir)
    check_against_header(skeleton.state_dict(), header, str(dir))
    del skeleton
    tensors = read_finite_safetensors(path)
    model = _build(build, cfg, dir)
    load_weights_into(model, tensors, str(dir))
    return model, cfg


def load_state(dir: str | Path) -> dict:
    """Read ``state.pt`` with ``torch.load(weights_only=True)``; refuse anything else."""
    path = Path(dir) / STATE
    need_file(path)
    with path.open("rb") as fh:
        magic = fh.read(4)
    if magic != ZIP_MAGIC:
        raise CheckpointError(f"{str(path)!r} is not a torch checkpoint archive; refusing to unpickle it")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # UnpicklingError, RuntimeError (bad zip), ...
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise CheckpointError(f"{str(path)!r} was refused by the weights-only loader: {first}") from None
    if not isinstance(state, dict):
        raise CheckpointError(f"{str(path)!r} must hold a dict, got {type(state).__name__}")
    return state


def all_finite(model: torch.nn.Module) -> bool:
    """True when every floating-point parameter and buffer is finite."""
    return all(
        bool(torch.isfinite(t).all()) for t in model.state_dict().values() if t.is_floating_point()
    )



def check_model_config(dir: str | Path, model_config: dict, context: str) -> None:
    """Refuse a checkpoint whose model.json differs from ``model_config`` (first difference named)."""
    saved = read_model_config(dir)
    current = json.loads(json.dumps(model_config))
    for key in sorted(set(saved) | set(current)):
        a, b = saved.get(key, "<absent>"), current.get(key, "<absent>")
        if a != b:
            raise CheckpointError(
                f"{context}: model {key} is {a!r} in the checkpoint but {b!r} in this config"
            )

"""Typed, closed configuration: dataclasses, TOML files and dotted overrides.

Each component owns a dataclass (the trainer owns :class:`TrainConfig`; a task
owns its model and data configs). A task bundles them in a root dataclass whose
fields are the TOML tables, for example::

    @dataclass
    class ForecastConfig:
        train: TrainConfig = field(default_factory=TrainConfig)
        model: ForecastModelConfig = field(default_factory=ForecastModelConfig)

    cfg = load_config(ForecastConfig, path="run.toml", overrides=["train.lr=3e-3"])

Rules, all enforced with a one-line :class:`~rnnkit.errors.ConfigError` that names
the key (``train.lr``) and the value seen:

- an unknown key (in the file or an override) is an error;
- values must have the field's type; an ``int`` is accepted for a ``float`` field,
  a ``bool`` is never accepted for a number, ``None`` only for ``Optional`` fields;
- a ``float`` must be finite (``nan``, ``inf`` are refused);
- override values are parsed as TOML values (``3e-3``, ``true``, ``[1, 2]``,
  ``"text"``); a bare word that is not valid TOML is taken as a string.
"""
from __future__ import annotations

import dataclasses
import json
import math
import sys
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Optional, TypeVar, Union

from rnnkit.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

__all__ = [
    "TrainConfig",
    "load_config",
    "from_dict",
    "to_dict",
    "apply_overrides",
    "parse_override",
    "read_toml",
    "save_json",
]

T = TypeVar("T")


@dataclass
class TrainConfig:
    """Settings of :class:`rnnkit.training.Trainer` (the ``[train]`` table).

    Optimisation: ``optimizer`` (adam, adamw, sgd), ``lr``, ``weight_decay``,
    ``momentum`` (sgd only), ``grad_clip`` (max global L2 norm; 0 or None turns
    clipping off, the norm is logged either way).
    Schedule: ``scheduler`` is none, cosine (to ``lr * min_lr_ratio`` over
    ``epochs``), step (times ``gamma`` every ``step_size`` epochs) or plateau
    (times ``gamma`` after ``scheduler_patience`` epochs without a better
    validation loss), each stepped once per epoch; or onecycle, stepped after
    every optimizer step: torch's ``OneCycleLR`` over the run's steps
    (``max_steps``, or ``epochs`` times the batches of an epoch when that is
    fewer), rising from ``lr / 25`` to ``lr`` over its first ``warmup`` share
    (at least 1.5 steps, at most 0.75 of them) and falling to ``lr / 25e4``.
    Stopping: ``epochs``; ``patience`` epochs without a validation loss better by
    ``min_delta`` (None: no early stopping); ``time_budget`` seconds of training
    (checked after every batch; the epoch in progress ends early, is validated and
    checkpointed); ``max_steps`` optimizer steps at most, exactly (the epoch in progress
    ends there the same way).
    Reproducibility: ``seed``; ``deterministic`` asks torch for deterministic
    kernels. Hardware: ``device`` (auto, cpu, cuda, cuda:N, mps); ``amp`` uses
    mixed precision on CUDA (bfloat16 where supported, else float16 with loss
    scaling) and is ignored elsewhere; ``threads`` sets torch's CPU threads during
    ``fit`` (None: leave as is; 1 is often fastest for tiny models on busy CPUs).
    Output: ``progress`` (a rich bar, off anyway under CI=true or without a
    terminal), ``tensorboard`` (needs the tensorboard package), ``checkpoint``
    (write checkpoints/last and checkpoints/best).
    """

    epochs: int = 20
    batch_size: int = 32
    lr: float = 1e-3
    optimizer: Literal["adam", "adamw", "sgd"] = "adam"
    weight_decay: float = 0.0
    momentum: float = 0.0
    grad_clip: Optional[float] = 1.0
    scheduler: Literal["none", "cosine", "step", "plateau", "onecycle"] = "none"
    warmup: float = 0.1
    step_size: int = 10
    gamma: float = 0.5
    scheduler_patience: int = 3
    min_lr_ratio: float = 0.0
    patience: Optional[int] = None
    min_delta: float = 0.0
    time_budget: Optional[float] = None
    max_steps: Optional[int] = None
    seed: int = 0
    deterministic: bool = False
    device: str = "auto"
    amp: bool = False
    threads: Optional[int] = None
    progress: bool = True
    tensorboard: bool = False
    checkpoint: bool = True

    def __post_init__(self) -> None:
        _positive(self, "epochs", self.epochs)
        _positive(self, "batch_size", self.batch_size)
        _positive(self, "lr", self.lr)
        if self.lr > MAX_LR:  # larger steps only overflow the weights into absurd forecasts
            raise ConfigError(f"train.lr must be <= {MAX_LR}, got {self.lr!r}")
        if self.grad_clip is not None and self.grad_clip < 0:
            raise ConfigError(f"train.grad_clip must be >= 0 or None, got {self.grad_clip!r}")
        if not 0 < self.warmup < 1:
            raise ConfigError(f"train.warmup must be in (0, 1), got {self.warmup!r}")
        if self.patience is not None:
            _positive(self, "patience", self.patience)
        if self.time_budget is not None:
            _positive(self, "time_budget", self.time_budget)
        if self.max_steps is not None:
            _positive(self, "max_steps", self.max_steps)
        if self.threads is not None:
            _positive(self, "threads", self.threads)


MAX_LR = 10.0


def _positive(cfg: Any, name: str, value: float, allow_zero: bool = False) -> None:
    bad = value < 0 if allow_zero else value <= 0
    if bad:
        rule = ">= 0" if allow_zero else "> 0"
        raise ConfigError(f"train.{name} must be {rule}, got {value!r}")


# --------------------------------------------------------------------------- types


def _type_name(tp: Any) -> str:
    if tp is type(None):
        return "None"
    origin = typing.get_origin(tp)
    if origin is Literal:
        return " | ".join(repr(a) for a in typing.get_args(tp))
    if origin in (Union, types.UnionType):
        return " | ".join(_type_name(a) for a in typing.get_args(tp))
    if origin in (list, tuple):
        args = typing.get_args(tp)
        return f"list of {_type_name(args[0])}" if args else "list"
    return getattr(tp, "__name__", str(tp))


def _coerce(key: str, tp: Any, value: Any) -> Any:
    """Check ``value`` against the annotation ``tp``; return it (lists become tuples if asked)."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (Union, types.UnionType):
        if float in args and isinstance(value, float) and not math.isfinite(value):  # Optional[float]: say why
            raise ConfigError(f"{key} must be a finite number, got {value!r}")
        for arg in args:
            try:
                return _coerce(key, arg, value)
            except ConfigError:
                continue
        raise _type_error(key, tp, value)
    if origin is Literal:
        if value in args and type(value) in {type(a) for a in args}:
            return value
        raise ConfigError(f"{key} must be one of {_type_name(tp)}, got {value!r}")
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise _type_error(key, tp, value)
        item_tp = args[0] if args else Any
        items = [_coerce(f"{key}[{i}]", item_tp, v) for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if origin is dict or tp is dict:
        if not isinstance(value, dict):
            raise _type_error(key, tp, value)
        return dict(value)
    if tp is Any:
        return value
    if tp is type(None):
        if value is None:
            return None
        raise _type_error(key, tp, value)
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise _type_error(key, tp, value)
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise _type_error(key, tp, value)
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if not math.isfinite(value):
                raise ConfigError(f"{key} must be a finite number, got {value!r}")
            return float(value)
        raise _type_error(key, tp, value)
    if tp is str:
        if isinstance(value, str):
            return value
        raise _type_error(key, tp, value)
    if dataclasses.is_dataclass(tp):
        if isinstance(value, tp):
            return value
        if not isinstance(value, dict):
            raise ConfigError(f"{key} must be a table, got {value!r}")
        return from_dict(tp, value, prefix=key)
    if isinstance(tp, type) and isinstance(value, tp):
        return value
    raise _type_error(key, tp, value)


def _type_error(key: str, tp: Any, value: Any) -> ConfigError:
    return ConfigError(
        f"{key} must be {_type_name(tp)}, got {value!r} ({type(value).__name__})"
    )


# ----------------------------------------------------------------- dict <-> dataclass


def from_dict(cls: type[T], data: dict, prefix: str = "") -> T:
    """Build dataclass ``cls`` from a plain dict, refusing unknown keys and wrong types."""
    if not isinstance(data, dict):
        raise ConfigError(f"{prefix or 'config'} must be a table, got {data!r}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    kwargs = {}
    for key, value in data.items():
        dotted = f"{prefix}.{key}" if prefix else str(key)
        if key not in fields:
            known = ", ".join(fields)
            raise ConfigError(f"unknown config key {dotted!r} (known keys: {known})")
        kwargs[key] = _coerce(dotted, hints[key], _over_default(fields[key], value))
    try:
        return cls(**kwargs)
    except ConfigError:
        raise
    except (TypeError, ValueError) as err:
        raise ConfigError(f"{prefix or 'config'}: {err}") from None


def _over_default(field: dataclasses.Field, value: Any) -> Any:
    """A partial table for a nested dataclass field, laid over that field's own default.

    A task's defaults (e.g. text's ``train.lr = 4e-3``) are the base; the user's keys
    override only what they name, never the table class's generic defaults.
    """
    if not isinstance(value, dict) or field.default_factory is dataclasses.MISSING:
        return value
    default = field.default_factory()
    if not dataclasses.is_dataclass(default):
        return value
    return _merge(to_dict(default), value)


def to_dict(cfg: Any) -> dict:
    """A dataclass as a JSON/TOML-ready dict (tuples become lists)."""

    def plain(v: Any) -> Any:
        if isinstance(v, (list, tuple)):
            return [plain(x) for x in v]
        if isinstance(v, dict):
            return {k: plain(x) for k, x in v.items()}
        return v

    return plain(dataclasses.asdict(cfg))


# ------------------------------------------------------------------------- overrides


def parse_override(text: str) -> tuple[list[str], Any]:
    """``"train.lr=3e-3"`` -> (["train", "lr"], 0.003). The value is read as TOML."""
    if "=" not in text:
        raise ConfigError(f"override {text!r} must look like key=value, e.g. train.lr=3e-3")
    key, raw = text.split("=", 1)
    key = key.strip().lstrip("-")
    parts = key.split(".")
    if not key or any(not p for p in parts):
        raise ConfigError(f"override {text!r} has an empty key")
    raw = raw.strip()
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw  # a bare word: take it as a string
    return parts, value


def apply_overrides(data: dict, overrides: list[str], named: dict | None = None) -> dict:
    """A copy of nested ``data`` with each ``a.b.c=value`` override set, then each
    ``named`` entry (``{"train.lr": 3e-3}``: typed values from command-line options, set
    as they are, never re-encoded as text)."""
    out = json.loads(json.dumps(data))
    items = [(text, *parse_override(text)) for text in overrides]
    items += [(key, key.split("."), value) for key, value in (named or {}).items()]
    for text, parts, value in items:
        node = out
        for depth, part in enumerate(parts[:-1]):
            nxt = node.setdefault(part, {})
            if not isinstance(nxt, dict):
                where = ".".join(parts[: depth + 1])
                raise ConfigError(f"override {text!r}: {where!r} is not a table")
            node = nxt
        node[parts[-1]] = list(value) if isinstance(value, tuple) else value
    return out


# ------------------------------------------------------------------------------ files


def read_toml(path: str | Path) -> dict:
    """Read a TOML file; a missing or malformed file is a one-line ConfigError."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {str(path)!r} does not exist")
    try:
        # Notepad and other Windows editors may start a UTF-8 file with a byte-order mark, which TOML forbids
        return tomllib.loads(path.read_bytes().decode("utf-8").removeprefix("\ufeff"))
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"config file {str(path)!r} is not valid TOML: {err}") from None
    except UnicodeDecodeError as err:
        raise ConfigError(f"config file {str(path)!r} is not UTF-8 text: {err}") from None


def load_config(
    cls: type[T],
    path: str | Path | None = None,
    overrides: list[str] | tuple[str, ...] = (),
    base: dict | None = None,
    named: dict | None = None,
) -> T:
    """The one way a run's config is resolved, merged once and validated once.

    Lowest first: the dataclass defaults (a task's own, table by table), ``base`` (e.g. a
    resumed run's config.json), the TOML file, the ``key=value`` overrides, then
    ``named`` (dotted key -> value, from typed command-line options)."""
    data: dict = json.loads(json.dumps(base)) if base else {}
    if path is not None:
        data = _merge(data, read_toml(path))
    data = apply_overrides(data, list(overrides), named)
    return from_dict(cls, data)


def _merge(a: dict, b: dict) -> dict:
    out = dict(a)
    for k, v in b.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def save_json(path: str | Path, data: Any) -> None:
    """Write strictly valid JSON atomically (non-finite floats become null); see atomic.write_json."""
    from rnnkit.training.atomic import write_json

    write_json(Path(path), data)

"""Typed, closed configuration: TOML, dotted overrides, unknown keys and wrong types."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import pytest

from rnnkit.errors import ConfigError
from rnnkit.training.config import (
    TrainConfig,
    apply_overrides,
    from_dict,
    load_config,
    parse_override,
    to_dict,
)


@dataclass
class ModelCfg:
    hidden_size: int = 8
    cell: str = "lstm"
    sizes: list[int] = field(default_factory=lambda: [1, 2])


@dataclass
class RootCfg:
    train: TrainConfig = field(default_factory=TrainConfig)
    model: ModelCfg = field(default_factory=ModelCfg)
    note: Optional[str] = None


def test_defaults_and_round_trip():
    cfg = from_dict(RootCfg, {})
    assert cfg == RootCfg()
    assert from_dict(RootCfg, to_dict(cfg)) == cfg


def test_toml_then_overrides(tmp_path):
    path = tmp_path / "run.toml"
    path.write_text('[train]\nlr = 0.01\nepochs = 3\n[model]\ncell = "gru"\nsizes = [4, 5]\n')
    cfg = load_config(RootCfg, path, ["train.lr=3e-3", "model.hidden_size=16", "note=hello"])
    assert cfg.train.lr == 0.003
    assert cfg.train.epochs == 3
    assert cfg.model.cell == "gru"
    assert cfg.model.sizes == [4, 5]
    assert cfg.model.hidden_size == 16
    assert cfg.note == "hello"  # a bare word is a string


def test_int_is_accepted_for_float_and_none_for_optional():
    cfg = load_config(RootCfg, overrides=["train.lr=1", "train.grad_clip=0", "train.patience=5"])
    assert cfg.train.lr == 1.0 and isinstance(cfg.train.lr, float)
    assert cfg.train.grad_clip == 0.0
    assert cfg.train.patience == 5


@pytest.mark.parametrize(
    "override, message",
    [
        ("train.lrr=0.1", "unknown config key 'train.lrr' (known keys: epochs, batch_size, lr,"),
        ("bogus.x=1", "unknown config key 'bogus' (known keys: train, model, note)"),
        ("train.lr=fast", "train.lr must be float, got 'fast' (str)"),
        ("train.epochs=2.5", "train.epochs must be int, got 2.5 (float)"),
        ("train.epochs=true", "train.epochs must be int, got True (bool)"),
        ("train.amp=1", "train.amp must be bool, got 1 (int)"),
        ("train.optimizer=rmsprop", "train.optimizer must be one of 'adam' | 'adamw' | 'sgd', got 'rmsprop'"),
        ("model.sizes=[1, 'a']", "model.sizes[1] must be int, got 'a' (str)"),
        ("train.lr=-1", "train.lr must be > 0, got -1.0"),
        ("train.lr", "override 'train.lr' must look like key=value, e.g. train.lr=3e-3"),
        ("train.lr.x=1", "override 'train.lr.x=1': 'train.lr' is not a table"),
    ],
)
def test_override_errors_name_the_key(override, message):
    with pytest.raises(ConfigError) as err:
        load_config(RootCfg, overrides=["train.lr=0.5", override] if "lr.x" in override else [override])
    assert str(err.value).startswith(message)
    assert "\n" not in str(err.value)


def test_toml_file_errors(tmp_path):
    with pytest.raises(ConfigError, match=r"^config file '.*missing.toml' does not exist$"):
        load_config(RootCfg, tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[train\nlr = 1\n")
    with pytest.raises(ConfigError, match=r"^config file '.*bad.toml' is not valid TOML: "):
        load_config(RootCfg, bad)
    unknown = tmp_path / "unknown.toml"
    unknown.write_text("[train]\nlearning_rate = 1\n")
    with pytest.raises(ConfigError, match=r"^unknown config key 'train.learning_rate'"):
        load_config(RootCfg, unknown)
    wrong = tmp_path / "wrong.toml"
    wrong.write_text('[model]\nhidden_size = "big"\n')
    with pytest.raises(ConfigError, match=r"^model.hidden_size must be int, got 'big' \(str\)$"):
        load_config(RootCfg, wrong)


def test_a_toml_file_with_a_byte_order_mark_is_read(tmp_path):
    """Notepad's UTF-8 starts with a byte-order mark, which TOML forbids: it was 'not valid TOML: Invalid
    statement (at line 1, column 1)'. Bytes that are not UTF-8 are still one line."""
    marked = tmp_path / "marked.toml"
    marked.write_text("[model]\nhidden_size = 12\n", encoding="utf-8-sig")
    assert marked.read_bytes()[:3] == b"\xef\xbb\xbf"
    assert load_config(RootCfg, marked).model.hidden_size == 12
    latin = tmp_path / "latin.toml"
    latin.write_bytes(b"# caf\xe9\n[model]\nhidden_size = 3\n")
    with pytest.raises(ConfigError, match=r"^config file '.*latin.toml' is not UTF-8 text: "):
        load_config(RootCfg, latin)


def test_base_config_is_overridden_by_file_and_overrides(tmp_path):
    base = {"train": {"lr": 0.5, "epochs": 7}, "model": {"hidden_size": 3}}
    path = tmp_path / "c.toml"
    path.write_text("[train]\nepochs = 9\n")
    cfg = load_config(RootCfg, path, ["model.hidden_size=4"], base=base)
    assert (cfg.train.lr, cfg.train.epochs, cfg.model.hidden_size) == (0.5, 9, 4)


def test_parse_override_reads_toml_values():
    assert parse_override("a.b=[1, 2]") == (["a", "b"], [1, 2])
    assert parse_override('--a="x y"') == (["a"], "x y")
    assert parse_override("a=false") == (["a"], False)
    assert apply_overrides({"a": {"b": 1}}, ["a.c=2"]) == {"a": {"b": 1, "c": 2}}


def _task_train() -> TrainConfig:
    return TrainConfig(epochs=10, lr=4e-3, scheduler="cosine", min_lr_ratio=0.1)


@dataclass
class TaskCfg:
    train: TrainConfig = field(default_factory=_task_train)


@pytest.mark.parametrize("override", ["train.epochs=3", "train.time_budget=300"])
def test_a_partial_table_keeps_the_task_defaults(override):
    """Issue 15 fault 8: naming one train key used to swap the task's [train] defaults
    (lr 4e-3, cosine) for TrainConfig's generic ones (lr 1e-3, no schedule)."""
    cfg = load_config(TaskCfg, overrides=[override])
    assert (cfg.train.lr, cfg.train.scheduler, cfg.train.min_lr_ratio) == (4e-3, "cosine", 0.1)
    named = load_config(TaskCfg, named={"train.epochs": 3})
    assert (named.train.epochs, named.train.lr, named.train.scheduler) == (3, 4e-3, "cosine")


def test_named_values_are_set_as_given_after_overrides():
    cfg = load_config(RootCfg, overrides=["note='from set'", "train.lr=0.5"],
                      named={"note": 'a "quoted" \\d+ regex', "train.lr": 0.25})
    assert cfg.note == 'a "quoted" \\d+ regex' and cfg.train.lr == 0.25


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_non_finite_numbers_are_refused(value):
    with pytest.raises(ConfigError, match=r"^train\.lr must be a finite number, got "):
        load_config(RootCfg, overrides=[f"train.lr={value}"])

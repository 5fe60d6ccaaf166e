"""Every command's help: conventional metavars and the defaults shown."""
from __future__ import annotations

import pytest
import typer
from typer.core import TyperOption

from rnnkit.cli.app import app

METAVARS = {"PATH", "INT", "FLOAT", "TEXT", "KEY=VALUE", "REGEX", "NAME", "FORMAT"}


def _commands(cmd, path=()):
    if hasattr(cmd, "commands"):
        for name, sub in cmd.commands.items():
            yield from _commands(sub, path + (name,))
    else:
        yield " ".join(path), cmd


COMMANDS = list(_commands(typer.main.get_command(app)))


@pytest.mark.parametrize("name,cmd", COMMANDS, ids=[n for n, _ in COMMANDS])
def test_options_show_conventional_metavars(name, cmd):
    ctx = typer.Context(cmd)
    bad = []
    for param in cmd.get_params(ctx):  # with --help
        shown = param.display_type_rich(ctx) if isinstance(param, TyperOption) else param.metavar
        if isinstance(param, TyperOption) and (param.is_flag or param.count):
            if shown is not None:  # a flag takes no value: no "<bool>"
                bad.append(f"{param.opts[0]}: {shown}")
            continue
        if shown is None or str(shown).rstrip(".") not in METAVARS:
            bad.append(f"{param.opts[0]}: {shown}")
    assert not bad, f"rnnkit {name}: {bad}"


@pytest.mark.parametrize("group", ["forecast train", "forecast backtest", "text train", "classify train"])
def test_train_commands_take_the_same_run_options(group):
    cmd = dict(COMMANDS)[group]
    opts = {o for p in cmd.params for o in p.opts}
    assert {"--device", "--threads", "--time-budget", "--max-steps", "--seed", "--epochs",
            "--out", "--config", "--set"} <= opts
    if group != "forecast backtest":
        assert "--resume" in opts


@pytest.mark.parametrize("group,config", [
    ("forecast train", "rnnkit.tasks.forecast.config:ForecastConfig"),
    ("forecast backtest", "rnnkit.tasks.forecast.config:ForecastConfig"),
    ("text train", "rnnkit.tasks.text.config:TextConfig"),
    ("classify train", "rnnkit.tasks.classify.config:ClassifyConfig"),
])
def test_run_option_defaults_in_help_are_the_task_config_defaults(group, config):
    import importlib

    module, name = config.split(":")
    train = getattr(importlib.import_module(module), name)().train
    cmd = dict(COMMANDS)[group]
    shown = {p.opts[0]: p.show_default for p in cmd.params if isinstance(p, TyperOption)}
    for opt, key in (("--epochs", "epochs"), ("--max-steps", "max_steps"), ("--seed", "seed"),
                     ("--device", "device"), ("--time-budget", "time_budget"), ("--threads", "threads")):
        want = getattr(train, key)
        if want is None:
            assert shown[opt] in ("none", "torch's"), (opt, shown[opt])
        else:
            assert shown[opt] == str(want), (opt, shown[opt], want)

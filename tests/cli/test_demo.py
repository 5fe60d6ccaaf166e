"""``rnnkit demo``: the NumPy demo from the command line."""
from __future__ import annotations

import re

from typer.testing import CliRunner

from rnnkit.cli.app import app

runner = CliRunner()


def test_demo_prints_loss_falling_and_a_prediction():
    result = runner.invoke(app, ["demo", "--steps", "150", "--seed", "1"])
    assert result.exit_code == 0, result.output
    losses = [float(v) for v in re.findall(r"train MSE ([0-9.]+)", result.stdout)]
    assert len(losses) == 4  # steps 1, 50, 100, 150
    assert losses[-1] < losses[0] / 10
    assert "held-out MSE" in result.stdout
    assert re.search(r"prediction: after .* the next value is [+-]\d\.\d{3}; the truth is",
                     result.stdout)


def test_demo_rejects_a_bad_step_count_in_one_line():
    result = runner.invoke(app, ["demo", "--steps", "0"])
    assert result.exit_code == 2
    assert result.stderr == "error: steps: expected an int >= 1, got 0\n"
    assert "Traceback" not in result.output


def test_demo_is_listed_in_help():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "demo" in result.stdout

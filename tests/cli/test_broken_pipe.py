"""`rnnkit ... | head -1`: a reader that goes away stops the command quietly (exit 141)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rnnkit.cli.app import app
from rnnkit.datasets import dataset_path

runner = CliRunner()
SRC = str(Path(__file__).resolve().parents[2] / "src")


def _closed_reader(*args: str) -> tuple[int, str]:
    """Run ``python -m rnnkit ARGS`` with its stdout read by nobody: the read end is closed
    before the child starts writing. Returns (exit code, stderr)."""
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    child = subprocess.Popen([sys.executable, "-m", "rnnkit", *args], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, env=env)
    child.stdout.close()
    err = child.stderr.read().decode()
    return child.wait(timeout=300), err


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("pipe")
    vowels = dataset_path("classification", "JapaneseVowels_TRAIN.ts")
    result = runner.invoke(app, ["classify", "train", "--train", str(vowels), "--out", str(root / "cls"),
                                 "--epochs", "1", "--max-steps", "2", "--model.hidden_size", "8",
                                 "--model.num_layers", "1", "--set", "train.progress=false"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["forecast", "train", "--out", str(root / "fc"), "--epochs", "1",
                                 "--max-steps", "2", "--set", "model.members=1", "--set", "model.hidden_size=8",
                                 "--set", 'baselines=["naive"]'])
    assert result.exit_code == 0, result.output
    return root, vowels


@pytest.mark.parametrize("command", ["classify", "forecast", "version", "help", "subcommand help"])
def test_a_reader_that_goes_away_stops_the_command_quietly(models, command):
    root, vowels = models
    args = {
        "classify": ["classify", "predict", "--model", str(root / "cls"), str(vowels)],
        "forecast": ["forecast", "predict", "--model", str(root / "fc" / "model"), "--data", "airline",
                     "--out", str(root / "next.csv")],
        "version": ["--version"],
        "help": ["--help"],  # printed by rich, which exits 1 on a broken pipe by itself
        "subcommand help": ["forecast", "train", "--help"],
    }[command]
    code, err = _closed_reader(*args)
    assert (code, err) == (141, "")  # no "error: Broken pipe", no "Exception ignored", no traceback
    if command == "forecast":  # what was written before the print is complete
        assert (root / "next.csv").read_text().startswith("time,forecast,lower,upper\n")

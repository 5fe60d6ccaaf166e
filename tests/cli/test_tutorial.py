"""`rnnkit tutorial`: output, JSON schema, and one-line config errors with exit code 2."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rnnkit.cli import tutorial as tutorial_cli
from rnnkit.cli.app import app
from rnnkit.tasks.tutorial.pipeline import TutorialConfig, run_rnnkit

runner = CliRunner()
REPO = Path(__file__).resolve().parents[2]

FAKE = {
    "as_written": {"100": 20.687, "55": 20.686, "205": 20.687},
    "rnnkit": {"100": 100.01, "55": 54.98, "205": 205.2},
    "seconds": {"as_written": 1.5, "rnnkit": 0.75},
}


@pytest.fixture
def fake_run(monkeypatch):
    calls = []

    def fake(config, run_dir=None, resume=False):
        calls.append((config, run_dir, resume))
        return FAKE

    monkeypatch.setattr("rnnkit.tasks.tutorial.pipeline.run_tutorial", fake)
    return calls


def test_json_output_is_the_result_dict(fake_run):
    result = runner.invoke(app, ["tutorial", "--json", "--seed", "3", "--train.lr", "0.02"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == FAKE
    config, run_dir, resume = fake_run[0]
    assert (config.train.seed, config.train.lr, run_dir, resume) == (3, 0.02, None, False)


def test_table_shows_both_columns(fake_run):
    result = runner.invoke(app, ["tutorial"])
    assert result.exit_code == 0, result.output
    assert "            99     100       20.69      100.01" in result.stdout
    assert "           204     205       20.69      205.20" in result.stdout
    assert "     training time (s)        1.50        0.75" in result.stdout


def _error(args: list[str]) -> str:
    result = runner.invoke(app, ["tutorial", *args])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert result.stderr.count("\n") == 1, result.stderr
    return result.stderr.strip()


def test_unknown_key():
    assert _error(["--set", "train.lrr=1"]).startswith(
        "error: unknown config key 'train.lrr' (known keys: epochs, batch_size, lr,"
    )


def test_wrong_type():
    assert _error(["--train.epochs", "many"]) == "error: train.epochs must be int, got 'many' (str)"


def test_missing_config_file(tmp_path):
    missing = tmp_path / "nope.toml"
    assert _error(["--config", str(missing)]) == f"error: config file {str(missing)!r} does not exist"


def test_bad_device():
    assert _error(["--device", "tpu"]) == "error: --device must be auto, cpu, cuda, cuda:N or mps, got 'tpu'"


def test_stray_argument():
    assert _error(["extra"]) == (
        "error: unexpected argument 'extra'; overrides look like --train.lr 3e-3 or --set train.lr=3e-3"
    )


def test_resume_with_a_different_hidden_size(tmp_path):
    run = tmp_path / "run"
    cfg = TutorialConfig()
    cfg.train.epochs = 2
    run_rnnkit(cfg, run_dir=run)
    assert _error(["--resume", str(run), "--set", "model.hidden_size=12"]) == (
        f"error: cannot resume from {run}: model hidden_size is 10 in the checkpoint but 12 in this config"
    )


def test_resume_from_a_folder_that_is_not_a_run(tmp_path):
    assert _error(["--resume", str(tmp_path)]) == (
        f"error: --resume: {str(tmp_path / 'config.json')!r} is missing; is this a run folder?"
    )


def test_real_process_prints_one_line_and_exits_2():
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    proc = subprocess.run(
        [sys.executable, "-m", "rnnkit", "tutorial", "--set", "train.optimizer=rmsprop"],
        capture_output=True, text=True, env=env, cwd=REPO, timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr == "error: train.optimizer must be one of 'adam' | 'adamw' | 'sgd', got 'rmsprop'\n"


@pytest.mark.slow
def test_full_tutorial_meets_the_acceptance_figures(tmp_path):
    start = time.perf_counter()
    result = runner.invoke(app, ["tutorial", "--json", "--out", str(tmp_path / "run")])
    wall = time.perf_counter() - start
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data) == {"as_written", "rnnkit", "seconds"}
    assert set(data["as_written"]) == set(data["rnnkit"]) == {"100", "55", "205"}
    assert round(data["as_written"]["100"], 2) == 20.69
    assert abs(data["rnnkit"]["100"] - 100) <= 0.5
    assert abs(data["rnnkit"]["55"] - 55) <= 0.5
    assert abs(data["rnnkit"]["205"] - 205) <= 2
    assert wall < 60
    assert (tmp_path / "run" / "metrics.csv").is_file()


def test_register_adds_the_command():
    assert callable(tutorial_cli.register)
    assert "tutorial" in runner.invoke(app, ["--help"]).stdout


def test_out_then_resume_continues_the_run(tmp_path, monkeypatch):
    monkeypatch.setattr(
        "rnnkit.tasks.tutorial.pipeline.run_as_written", lambda seed: ({100: 0.0, 55: 0.0, 205: 0.0}, 0.0)
    )
    run = tmp_path / "run"
    first = runner.invoke(app, ["tutorial", "--json", "--out", str(run), "--set", "train.epochs=2"])
    assert first.exit_code == 0, first.output
    assert len((run / "metrics.csv").read_text().splitlines()) == 1 + 2
    again = runner.invoke(app, ["tutorial", "--json", "--resume", str(run), "--train.epochs", "3"])
    assert again.exit_code == 0, again.output
    rows = (run / "metrics.csv").read_text().splitlines()
    assert [r.split(",")[0] for r in rows[1:]] == ["1", "2", "3"]
    assert json.loads((run / "config.json").read_text())["train"]["epochs"] == 3

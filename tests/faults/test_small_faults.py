"""Fault 13 of issue 15 (the small ones) and deliverable 6: control characters from a
CSV never reach the terminal raw, backtest's --step and --folds are checked, and Ctrl-C
says in one line what was kept and how to resume."""
from __future__ import annotations

import pytest
from typer.testing import CliRunner

from rnnkit.cli.app import app
from rnnkit.training import trainer as trainer_mod

runner = CliRunner()
TINY = ["--members", "1", "--epochs", "1", "--max-steps", "1", "--set", "model.hidden_size=4",
        "--set", 'baselines=["naive"]', "--time-col", "t", "--horizon", "4"]
HOSTILE = "\x1b]0;pwned\x07\x1b[31mred"  # sets the window title, then turns the text red


def _csv(path, name="y", n=40):
    path.write_text(f"t,{name},b\n" + "".join(f"{i},{i % 7 + i / 10},{i % 3}\n" for i in range(n)))
    return str(path)


def test_control_characters_from_a_csv_header_are_escaped_on_the_terminal(tmp_path):
    csv = _csv(tmp_path / "ansi.csv", HOSTILE)
    out = tmp_path / "run"
    # color=True: CliRunner keeps what a terminal would receive (click strips only colour codes)
    trained = runner.invoke(app, ["forecast", "train", "--data", csv, "--out", str(out), *TINY], color=True)
    assert trained.exit_code == 0, trained.output
    pred = runner.invoke(app, ["forecast", "predict", "--model", str(out), "--data", csv,
                               "--out", str(tmp_path / "p.csv")], color=True)
    assert pred.exit_code == 0, pred.output
    for result in (trained, pred):
        assert "\x1b" not in result.output and "\x07" not in result.output
    assert "\\x1b]0;pwned\\x07\\x1b[31mred" in pred.stdout  # shown, escaped


def _backtest(tmp_path, csv, *args):
    return runner.invoke(app, ["forecast", "backtest", "--data", csv, "--time-col", "t", "--horizon", "4",
                               "--target", "y", "--out", str(tmp_path / "bt"), *args])


def test_backtest_step_0_is_refused(tmp_path):
    result = _backtest(tmp_path, _csv(tmp_path / "s.csv"), "--step", "0")
    assert result.exit_code == 2, result.output
    assert result.stderr == "error: --step must be >= 1, got 0\n"


def test_backtest_too_many_folds_names_the_real_limit(tmp_path):
    csv = _csv(tmp_path / "s.csv")
    result = _backtest(tmp_path, csv, "--folds", "50")
    assert result.exit_code == 2, result.output
    # 40 points, H 4, the first fold trains on >= H + 1 points: (40 - 2*4 - 1) // 4 + 1 = 8 folds fit
    assert result.stderr == (f"error: {csv}: --folds 50 with --step 4 needs more history; at most 8 folds "
                             "fit (40 points, horizon 4: the first fold trains on at least 5 points)\n")


def test_backtest_with_exactly_the_limit_runs(tmp_path):
    csv = _csv(tmp_path / "s.csv", n=17)  # (17 - 8 - 1) // 4 + 1 = 3 folds fit
    result = _backtest(tmp_path, csv, "--folds", "3", "--epochs", "1", "--set", "model.hidden_size=4",
                       "--set", "train.max_steps=1", "--set", 'baselines=["naive"]')
    assert result.exit_code == 0, result.output


def _interrupt_at(epoch_to_stop, monkeypatch):
    real = trainer_mod.Trainer._run_epoch

    def run_epoch(self, epoch, *args, **kwargs):
        if epoch == epoch_to_stop:
            raise KeyboardInterrupt
        return real(self, epoch, *args, **kwargs)

    monkeypatch.setattr(trainer_mod.Trainer, "_run_epoch", run_epoch)


def test_ctrl_c_during_training_says_what_was_kept_and_how_to_resume(tmp_path, monkeypatch):
    run = tmp_path / "run"
    _interrupt_at(3, monkeypatch)
    result = runner.invoke(app, ["tutorial", "--out", str(run), "--set", "train.epochs=4"])
    assert result.exit_code == 130, result.output
    assert result.stderr == (f"interrupted; the last good checkpoint is kept in {run / 'checkpoints' / 'last'}; "
                             f"run the same command with --resume {run} to continue from it\n")
    monkeypatch.undo()
    resumed = runner.invoke(app, ["tutorial", "--resume", str(run), "--set", "train.epochs=4"])
    assert resumed.exit_code == 0, resumed.output


def test_ctrl_c_before_the_first_checkpoint_says_so(tmp_path, monkeypatch):
    _interrupt_at(1, monkeypatch)
    result = runner.invoke(app, ["tutorial", "--out", str(tmp_path / "run"), "--set", "train.epochs=2"])
    assert result.exit_code == 130, result.output
    assert result.stderr == "interrupted before any checkpoint was written; nothing to resume\n"


def test_a_real_sigint_prints_the_resume_line_and_exits_130(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    run = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": str(repo / "src")}
    proc = subprocess.Popen([sys.executable, "-m", "rnnkit", "tutorial", "--out", str(run),
                             "--set", "train.epochs=100000", "--set", "train.patience=1000000000",
                             "--set", "train.progress=false"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        # a condition, not a timing: a loaded machine (or a first build of the fused kernels in the
        # child) only makes the wait longer; a checkpoint that never comes fails on its own line
        deadline = time.monotonic() + 600
        while not (run / "checkpoints" / "last").is_dir():
            if time.monotonic() > deadline or proc.poll() is not None:
                pytest.fail(f"no checkpoint in {run / 'checkpoints'} after 600 s (child exit {proc.poll()})")
            time.sleep(0.2)
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert err == (f"interrupted; the last good checkpoint is kept in {run / 'checkpoints' / 'last'}; "
                   f"run the same command with --resume {run} to continue from it\n")

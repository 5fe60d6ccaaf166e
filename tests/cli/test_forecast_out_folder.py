"""`forecast train/backtest --out DIR` where DIR holds an earlier run: refuse, or --overwrite
exactly the earlier run's files; a user's own files are never removed."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from rnnkit.cli.app import app

runner = CliRunner()
TINY = ["--epochs", "1", "--max-steps", "2", "--set", "model.members=1", "--set", "model.hidden_size=8",
        "--set", 'baselines=["naive"]']


def _earlier_run(out):
    """A folder as an earlier 5-fold backtest leaves it, plus the user's own files."""
    (out / "run_fold4" / "model").mkdir(parents=True)
    (out / "run_fold4" / "model" / "forecaster.json").write_text("{}")
    (out / "model").mkdir()
    (out / "model" / "forecaster.json").write_text("{}")
    (out / "model" / "my_notes.txt").write_text("mine")
    (out / "backtest.png").write_bytes(b"old plot")
    (out / "config.json").write_text('{"old": true}')
    (out / "sales.csv").write_text("user data")


def _listing(out):
    return sorted(str(p.relative_to(out)) for p in out.rglob("*"))


def test_a_fresh_run_into_an_earlier_run_is_one_line_and_touches_nothing(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    _earlier_run(out)
    before = _listing(out)
    result = runner.invoke(app, ["forecast", "train", "--out", str(out), *TINY])
    assert result.exit_code == 2, result.output
    assert result.stderr == (
        f"error: --out {str(out)!r} already holds a forecast run (config.json, backtest.png, model/, "
        f"run_fold4/); pass --overwrite to replace it (other files there are kept), --resume {str(out)!r} "
        "to continue it, or choose another --out\n")
    assert _listing(out) == before and (out / "backtest.png").read_bytes() == b"old plot"


def test_overwrite_replaces_only_the_files_a_run_writes(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    _earlier_run(out)
    result = runner.invoke(app, ["forecast", "train", "--out", str(out), "--overwrite", *TINY])
    assert result.exit_code == 0, result.output
    assert not (out / "backtest.png").exists() and not (out / "run_fold4").exists()  # no stale mix
    assert (out / "sales.csv").read_text() == "user data"  # the user's files stay
    assert (out / "model" / "my_notes.txt").read_text() == "mine"
    assert {"metrics.json", "forecast.csv", "forecast.png"} <= {p.name for p in out.iterdir()}
    assert "old" not in json.loads((out / "config.json").read_text())
    assert json.loads((out / "model" / "forecaster.json").read_text())["horizon"] == 12


def test_a_backtest_after_a_train_needs_overwrite_and_then_leaves_no_train_files(tmp_path):
    out = tmp_path / "run"
    assert runner.invoke(app, ["forecast", "train", "--out", str(out), *TINY]).exit_code == 0
    result = runner.invoke(app, ["forecast", "backtest", "--out", str(out), "--folds", "1", *TINY])
    assert result.exit_code == 2 and "already holds a forecast run (config.json, metrics.json" in result.stderr
    result = runner.invoke(app, ["forecast", "backtest", "--out", str(out), "--folds", "1", "--overwrite", *TINY])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == [
        "backtest.csv", "backtest.json", "backtest.png", "config.json", "run_fold0"]


def test_the_input_csv_is_never_an_output(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    data = out / "forecast.csv"
    data.write_text("y\n" + "\n".join(str(i % 7 + 1) for i in range(60)) + "\n")
    result = runner.invoke(app, ["forecast", "train", "--data", str(data), "--target", "y", "--horizon", "4",
                                 "--season", "1", "--out", str(out), "--overwrite", *TINY])
    assert result.exit_code == 2
    assert result.stderr == (f"error: --data {str(data)!r} is the forecast.csv this run writes into "
                             f"--out {str(out)!r}; choose another --out\n")
    assert data.read_text().startswith("y\n1\n2\n")


def test_overwrite_and_resume_exclude_each_other(tmp_path):
    out = tmp_path / "run"
    assert runner.invoke(app, ["forecast", "train", "--out", str(out), *TINY]).exit_code == 0
    result = runner.invoke(app, ["forecast", "train", "--resume", str(out), "--overwrite"])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: --overwrite and --resume exclude each other")


def test_an_overwrite_run_that_fails_keeps_the_earlier_run(tmp_path, monkeypatch):
    import rnnkit.tasks.forecast.pipeline as pipeline

    def full_disk(path, *args):
        raise OSError(28, "No space left on device")

    out = tmp_path / "run"
    out.mkdir()
    _earlier_run(out)
    monkeypatch.setattr(pipeline, "plot_forecast", full_disk)  # the run's last write fails
    result = runner.invoke(app, ["forecast", "train", "--out", str(out), "--overwrite", *TINY])
    assert result.exit_code == 2 and "No space left on device" in result.stderr
    assert (out / "backtest.png").read_bytes() == b"old plot"  # removed only after the last write
    assert (out / "run_fold4" / "model" / "forecaster.json").is_file()

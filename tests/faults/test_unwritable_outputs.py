"""Fault 7 and the umask part of fault 13 (issue 15): forecast and text outputs that cannot
be written are one line and exit 2, nothing is left half-written, and what is written
honours the umask."""
from __future__ import annotations

import errno
import os
import stat

import pandas as pd
import pytest
import torch
from typer.testing import CliRunner

from rnnkit.cli.app import app
from rnnkit.datasets import dataset_path
from rnnkit.training import checkpoint as ckpt
from rnnkit.training.config import save_json
from rnnkit.training.plots import plot_loss

pytestmark = pytest.mark.unwritable
runner = CliRunner()
AIRLINE = str(dataset_path("forecasting", "airline_passengers.csv"))
TINY = ["--members", "1", "--epochs", "1", "--max-steps", "1", "--set", "model.hidden_size=4",
        "--set", 'baselines=["naive"]', "--time-col", "t", "--horizon", "4"]


@pytest.fixture(scope="module")
def small_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "small.csv"
    path.write_text("t,y\n" + "".join(f"{i},{1 + i % 7 + i / 10}\n" for i in range(40)))
    return str(path)


def _full_disk(*args, **kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def _partial_then_full(self, path, *args, **kwargs):
    with open(path, "w") as fh:
        fh.write("time,forec")
    _full_disk()


def _no_temp_files(folder):
    return [p.name for p in folder.rglob(".tmp-*")] == []


def test_forecast_train_onto_an_existing_file_is_one_line(tmp_path, small_csv):
    (tmp_path / "afile").write_text("x")
    result = runner.invoke(app, ["forecast", "train", "--data", small_csv, "--out", str(tmp_path / "afile"), *TINY])
    assert result.exit_code == 2, result.output
    assert result.stderr == f"error: --out {str(tmp_path / 'afile')!r} is a file, not a folder\n"
    assert (tmp_path / "afile").read_text() == "x"


@pytest.mark.parametrize("where", ["folder", "under_a_file"])
def test_forecast_predict_onto_a_folder_or_under_a_file_fails_before_any_work(tmp_path, where):
    (tmp_path / "afile").write_text("x")
    out = tmp_path if where == "folder" else tmp_path / "afile" / "f.csv"
    # the model folder does not even exist: the destination is checked first
    result = runner.invoke(app, ["forecast", "predict", "--model", str(tmp_path / "nomodel"),
                                 "--data", AIRLINE, "--out", str(out)])
    assert result.exit_code == 2, result.output
    expected = (f"--out {str(out)!r} is a folder; give a file name" if where == "folder"
                else f"--out {str(out)!r}: {str(tmp_path / 'afile')!r} is a file, not a folder")
    assert result.stderr == f"error: {expected}\n"


@pytest.fixture(scope="module")
def forecast_run(tmp_path_factory, small_csv):
    out = tmp_path_factory.mktemp("fc") / "run"
    result = runner.invoke(app, ["forecast", "train", "--data", small_csv, "--out", str(out), *TINY])
    assert result.exit_code == 0, result.output
    return out


def test_forecast_predict_on_a_full_disk_leaves_no_file(forecast_run, small_csv, tmp_path, monkeypatch):
    monkeypatch.setattr(pd.DataFrame, "to_csv", _partial_then_full)
    out = tmp_path / "pred.csv"
    result = runner.invoke(app, ["forecast", "predict", "--model", str(forecast_run), "--data", small_csv,
                                 "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert result.stderr == f"error: --out {str(out)!r} cannot be written: No space left on device\n"
    assert list(tmp_path.iterdir()) == []  # no half-written CSV, no temp file


# The forecast's own outputs; the trainer's records of the new attempt (config.json,
# metrics.csv, loss.png, written atomically into the same run folder since the house
# layout) are replaced as for every task.
FORECAST_OUTPUTS = ("metrics.json", "forecast.csv", "forecast.png")


def test_forecast_train_on_a_full_disk_keeps_the_previous_outputs(forecast_run, small_csv, monkeypatch):
    before = {name: (forecast_run / name).read_bytes() for name in FORECAST_OUTPUTS}
    model_before = (forecast_run / "model" / ckpt.WEIGHTS).read_bytes()
    import rnnkit.tasks.forecast.saved as saved

    monkeypatch.setattr(saved, "atomic_write_bytes", _full_disk)  # the model folder is written first
    result = runner.invoke(app, ["forecast", "train", "--data", small_csv, "--out", str(forecast_run), *TINY,
                                 "--set", "train.seed=7", "--overwrite"])
    assert result.exit_code == 2, result.output
    model = str(forecast_run / "model")
    assert result.stderr == f"error: Forecaster.save: {model!r} cannot be written: No space left on device\n"
    assert {name: (forecast_run / name).read_bytes() for name in FORECAST_OUTPUTS} == before
    assert (forecast_run / "model" / ckpt.WEIGHTS).read_bytes() == model_before
    assert _no_temp_files(forecast_run)


def test_text_train_on_a_full_disk_is_one_line(tmp_path, monkeypatch):
    data = tmp_path / "corpus.txt"
    data.write_text("to be or not to be, that is the question.\n" * 40, encoding="utf-8")
    monkeypatch.setattr(ckpt, "_write_file", _full_disk)
    out = tmp_path / "run"
    result = runner.invoke(app, ["text", "train", "--data", str(data), "--out", str(out), "--epochs", "1",
                                 "--set", "model.hidden_size=8", "--set", "model.embed_dim=4",
                                 "--set", "train.batch_size=4", "--set", "data.seq_len=8",
                                 "--set", "train.progress=false"])
    assert result.exit_code == 2, result.output
    assert len(result.stderr.splitlines()) == 1 and "No space left on device" in result.stderr, result.stderr
    assert "Traceback" not in result.output
    assert not (out / "model").exists() and _no_temp_files(out)


def test_outputs_honour_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        ckpt.save_model(tmp_path / "model", torch.nn.Linear(2, 1), {"in": 2})
        save_json(tmp_path / "m.json", {"a": 1})
        plot_loss([{"epoch": 1, "train_loss": 1.0}], tmp_path / "loss.png")
    finally:
        os.umask(old)

    def mode(p):
        return oct(stat.S_IMODE(p.stat().st_mode))

    assert mode(tmp_path / "model") == oct(0o755)
    modes = {p.name: mode(p) for p in [tmp_path / "m.json", tmp_path / "loss.png", *(tmp_path / "model").iterdir()]}
    assert modes == {n: oct(0o644) for n in ["m.json", "loss.png", "model.json", "model.safetensors"]}


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root can write to read-only folders")
def test_forecast_train_into_a_read_only_folder_fails_before_training(tmp_path, small_csv):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        result = runner.invoke(app, ["forecast", "train", "--data", small_csv, "--out", str(ro / "run"), *TINY])
    finally:
        ro.chmod(0o700)
    assert result.exit_code == 2, result.output
    assert result.stderr == f"error: --out {str(ro / 'run')!r} cannot be written: Permission denied\n"
    assert list(ro.iterdir()) == []

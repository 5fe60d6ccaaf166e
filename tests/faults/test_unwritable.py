"""Unwritable output: an error every time, never a silently missing file."""
from __future__ import annotations

import errno
import os

import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset
from typer.testing import CliRunner

from rnnkit.cli.app import app
from rnnkit.errors import RnnkitError
from rnnkit.models import RecurrentModel
from rnnkit.training import TrainConfig, Trainer
from rnnkit.training import checkpoint as ckpt
from tests.export import helpers as h

pytestmark = pytest.mark.unwritable
runner = CliRunner()


def _export(run, out):
    return runner.invoke(app, ["export", "--model", str(run), "--format", "torchscript",
                               "--out", str(out), "--no-check"])


def test_export_into_a_file_instead_of_a_folder(tmp_path):
    run = h.classifier_dir(tmp_path / "run")
    (tmp_path / "afile").write_text("x")
    result = _export(run, tmp_path / "afile" / "m.pt")
    assert result.exit_code == 2
    assert result.stderr == (f"error: --out {str(tmp_path / 'afile' / 'm.pt')!r}: "
                             f"{str(tmp_path / 'afile')!r} is a file, not a folder\n")


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root can write to read-only folders")
def test_export_into_a_read_only_folder(tmp_path):
    run = h.classifier_dir(tmp_path / "run")
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        result = _export(run, ro / "m.pt")
    finally:
        ro.chmod(0o700)
    assert result.exit_code == 2
    assert result.stderr == f"error: --out {str(ro / 'm.pt')!r} cannot be written: Permission denied\n"
    assert list(ro.iterdir()) == []


def test_export_on_a_full_disk_leaves_nothing_behind(tmp_path, monkeypatch):
    run = h.classifier_dir(tmp_path / "run")
    out_dir = tmp_path / "out"
    out_dir.mkdir()

    def full(obj, path, *args, **kwargs):
        with open(path, "wb") as fh:
            fh.write(b"partial")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(torch.jit, "save", full)
    result = _export(run, out_dir / "m.pt")
    assert result.exit_code == 2
    assert result.stderr == f"error: --out {str(out_dir / 'm.pt')!r} cannot be written: No space left on device\n"
    assert list(out_dir.iterdir()) == []  # no half-written model, no temp file


def _fit(run_dir, epochs=2):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(8, 4, 2, generator=g)  # (N, T, I)
    torch.manual_seed(0)
    model = RecurrentModel(2, 4, 1, cell="gru")
    loader = DataLoader(TensorDataset(x, x.sum(dim=(1, 2)).unsqueeze(1)), batch_size=4)
    trainer = Trainer(model, TrainConfig(epochs=epochs, progress=False), run_dir=run_dir)
    return trainer, trainer.fit(loader)


def test_training_into_a_file_instead_of_a_folder_is_an_error(tmp_path):
    (tmp_path / "afile").write_text("x")
    run = tmp_path / "afile" / "run"
    with pytest.raises(RnnkitError) as info:
        _fit(run)
    assert str(info.value) == f"run folder {str(run)!r} cannot be created: Not a directory"
    assert (tmp_path / "afile").read_text() == "x"


def test_cli_training_into_a_file_is_one_line(tmp_path):
    (tmp_path / "afile").write_text("x")
    run = tmp_path / "afile" / "run"
    result = runner.invoke(app, ["tutorial", "--out", str(run), "--set", "train.epochs=1"])
    assert result.exit_code == 2, result.output
    assert result.stderr == f"error: run folder {str(run)!r} cannot be created: Not a directory\n"


def test_disk_full_during_a_checkpoint_keeps_the_last_good_one(tmp_path, monkeypatch):
    run = tmp_path / "run"
    _fit(run, epochs=2)
    good = ckpt.read_safetensors(run / "checkpoints" / "last" / ckpt.WEIGHTS)
    real_write = ckpt._write_file

    def full(path, data):
        if path.name == ckpt.WEIGHTS:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_write(path, data)

    monkeypatch.setattr(ckpt, "_write_file", full)
    with pytest.raises(RnnkitError) as info:
        _fit(run, epochs=1)  # a fresh run into the same folder: its first save fails
    assert str(info.value) == (f"cannot write to run folder {str(run)!r}: No space left on device; "
                               f"training stopped; the last good checkpoint is kept in "
                               f"{run / 'checkpoints' / 'last'}")
    kept = ckpt.read_safetensors(run / "checkpoints" / "last" / ckpt.WEIGHTS)
    assert all(torch.equal(kept[k], good[k]) for k in good)  # the old checkpoint is intact
    assert ckpt.load_state(run / "checkpoints" / "last")["epoch"] == 2  # not the failed run's 1

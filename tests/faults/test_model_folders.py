"""Faults 2, 3 and 11 of issue 15: model folders are validated before anything is allocated.

model.json sizes are checked against the weights' own header (a meta-device build, no
memory), a deeply nested model.json is one line, a weights file is never read before its
header and its size agree, and weights must be finite and of the model's dtype.
"""
from __future__ import annotations

import json
import math
import struct
import time

import pytest
import torch
from safetensors.torch import load_file, save_file
from typer.testing import CliRunner

from rnnkit.cli.app import app
from rnnkit.errors import CheckpointError
from rnnkit.training import checkpoint as ckpt
from rnnkit.tasks.classify.pipeline import load_classifier
from tests.export import helpers as h

pytestmark = pytest.mark.hostile_files
runner = CliRunner()


def _edit_model_json(run, **changes):
    path = run / "model" / "model.json"
    info = json.loads(path.read_text())
    info["model"].update(changes)
    path.write_text(json.dumps(info))


@pytest.mark.parametrize("key, value, message", [
    ("hidden_size", 10**9, r"hidden_size is 1000000000 but the weights file holds only \d+ numbers"),
    ("hidden_size", 7, r"'rnn\.weight_ih_l0' has shape \(24, 3\) in the checkpoint but \(28, 3\)"),
    ("num_layers", 10**7, r"num_layers is 10000000 but the weights file holds only \d+ tensors"),
])
def test_absurd_sizes_in_model_json_are_refused_before_building(tmp_path, key, value, message):
    run = h.classifier_dir(tmp_path / "run")
    _edit_model_json(run, **{key: value})
    start = time.perf_counter()
    with pytest.raises(CheckpointError, match=message):
        load_classifier(run)
    assert time.perf_counter() - start < 20  # a bound, not a timing: the unfixed code takes minutes or OOMs


def test_deeply_nested_model_json_is_one_line(tmp_path):
    run = h.classifier_dir(tmp_path / "run")
    (run / "model" / "model.json").write_text("[" * 100_000 + "]" * 100_000)
    result = runner.invoke(app, ["export", "--model", str(run), "--format", "torchscript",
                                 "--out", str(tmp_path / "m.pt")])
    assert result.exit_code == 2, result.output
    assert result.stderr == f"error: {str(run / 'model' / 'model.json')!r} is not valid JSON: nested too deeply\n"


def test_sparse_8_gib_weights_file_is_refused_without_reading_it(tmp_path, monkeypatch):
    run = h.classifier_dir(tmp_path / "run")
    path = run / "model" / ckpt.WEIGHTS
    size = path.stat().st_size
    with path.open("r+b") as fh:
        fh.truncate(8 << 30)  # sparse: 8 GiB on paper, a few KiB on disk
    monkeypatch.setattr(type(path), "read_bytes", lambda self: pytest.fail(f"read {self} whole"))
    (header_len,) = struct.unpack("<Q", open(path, "rb").read(8))
    with pytest.raises(CheckpointError) as info:
        load_classifier(run)
    assert str(info.value) == (f"{str(path)!r} has {(8 << 30) - 8 - header_len} bytes of tensor data but its "
                               f"header declares {size - 8 - header_len}; refusing to read it")


def _with_nan(w: torch.Tensor) -> torch.Tensor:
    w = w.clone()
    w[1, 2] = math.nan
    return w


@pytest.mark.parametrize("tamper, message", [
    (_with_nan, "{path!r}: tensor 'rnn.weight_hh_l0' holds NaN/Inf; refusing to load it"),
    (lambda w: w.round().to(torch.int32),  # refused, not cast
     "{model}: 'rnn.weight_hh_l0' is stored as int32 but the model's is float32; refusing to cast it"),
], ids=["nan", "int32"])
def test_weights_with_nan_or_another_dtype_are_refused_on_load(tmp_path, tamper, message):
    run = h.classifier_dir(tmp_path / "run")
    path = run / "model" / ckpt.WEIGHTS
    tensors = load_file(str(path))
    tensors["rnn.weight_hh_l0"] = tamper(tensors["rnn.weight_hh_l0"])
    save_file(tensors, str(path))
    with pytest.raises(CheckpointError) as info:
        load_classifier(run)
    assert str(info.value) == message.format(path=str(path), model=str(run / "model"))


def test_a_valid_folder_still_loads_bit_identical(tmp_path):
    run = h.classifier_dir(tmp_path / "run")
    model, _ = load_classifier(run)
    saved = load_file(str(run / "model" / ckpt.WEIGHTS))
    assert all(torch.equal(model.state_dict()[k], saved[k]) for k in saved)


def test_deeply_nested_run_config_on_resume_is_one_line(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text("{\"a\": " * 100_000 + "1" + "}" * 100_000)
    result = runner.invoke(app, ["tutorial", "--resume", str(run)])
    assert result.exit_code == 2, result.output
    assert result.stderr == f"error: --resume: {str(run / 'config.json')!r} is not valid JSON: nested too deeply\n"


def test_deeply_nested_forecast_run_file_is_one_line(tmp_path):
    from rnnkit.tasks.forecast.pipeline import RUN_FILE, predict

    (tmp_path / RUN_FILE).write_text("[" * 100_000 + "]" * 100_000)
    (tmp_path / "forecaster.json").write_text("{}")
    with pytest.raises(CheckpointError, match="is not valid JSON: nested too deeply"):
        predict(tmp_path, "airline")

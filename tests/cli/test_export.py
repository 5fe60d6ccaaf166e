"""``rnnkit export``: writes the file and its description, checks it, and fails in one line."""
from __future__ import annotations

import importlib.util
import json

import pytest
from typer.testing import CliRunner

from rnnkit.cli.app import app
from tests.training import export_helpers as h

runner = CliRunner()
HAS_ORT = importlib.util.find_spec("onnxruntime") is not None and importlib.util.find_spec("onnx") is not None


def test_export_torchscript_with_check_table(tmp_path):
    run = h.classifier_dir(tmp_path / "run", cell="gru")
    out = tmp_path / "clf.pt"
    result = runner.invoke(app, ["export", "--model", str(run), "--format", "torchscript", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.is_file()
    side = json.loads((tmp_path / "clf.pt.json").read_text())
    assert side["inputs"] == ["x", "h0"] and side["outputs"] == ["y", "h_n"]
    assert side["dynamic_axes"]["x"] == {"0": "batch", "1": "time"}
    lines = result.stdout.splitlines()
    assert lines[0] == f"wrote {out} (classify model, torchscript)"
    assert len([ln for ln in lines if ln.split()[:1] in (["1"], ["4"])]) == 6  # B x T rows
    assert lines[-1].startswith("ok: max |difference| ")


@pytest.mark.skipif(not HAS_ORT, reason="onnx/onnxruntime not installed")
def test_export_onnx_json_report(tmp_path):
    model_dir = h.charlm_dir(tmp_path / "lm", cell="lstm")
    out = tmp_path / "lm.onnx"
    result = runner.invoke(app, ["export", "--model", str(model_dir), "--format", "onnx",
                                 "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["format"] == "onnx" and report["kind"] == "text"
    assert len(report["cases"]) == 6
    assert report["max_abs_diff"] < 1e-5


def test_no_check_skips_the_comparison(tmp_path):
    run = h.classifier_dir(tmp_path / "run")
    out = tmp_path / "m.pt"
    result = runner.invoke(app, ["export", "--model", str(run), "--format", "torchscript",
                                 "--out", str(out), "--no-check"])
    assert result.exit_code == 0, result.output
    assert result.stdout == f"wrote {out} (classify model, torchscript); not checked\n"


def test_bad_format_is_one_line(tmp_path):
    run = h.classifier_dir(tmp_path / "run")
    result = runner.invoke(app, ["export", "--model", str(run), "--format", "tflite",
                                 "--out", str(tmp_path / "m")])
    assert result.exit_code == 2
    assert result.stderr == "error: --format must be one of torchscript, onnx, got 'tflite'\n"


def test_missing_model_is_one_line(tmp_path):
    result = runner.invoke(app, ["export", "--model", str(tmp_path / "nope"), "--format", "onnx",
                                 "--out", str(tmp_path / "m.onnx")])
    assert result.exit_code == 2
    assert result.stderr == f"error: --model {str(tmp_path / 'nope')!r} does not exist\n"
    assert "Traceback" not in result.output

"""``rnnkit export``: writes the file and its description, checks it, and fails in one line."""
from __future__ import annotations

import importlib.util
import json

import pytest
from typer.testing import CliRunner

from rnnkit.cli.app import app
from tests.export import helpers as h

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
    assert len([ln for ln in lines if ln.split()[:2] in (["random", "1"], ["random", "4"])]) == 6  # B x T
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


def test_real_inputs_for_a_classifier(tmp_path):
    """--data: the check also runs on sequences of a real .ts file (JapaneseVowels has 12 features)."""
    from pathlib import Path

    import torch

    from rnnkit.models.classifier import SequenceClassifier
    from rnnkit.training.checkpoint import save_model

    ts = Path(__file__).resolve().parents[2] / "src/rnnkit/datasets/classification/JapaneseVowels_TEST.ts"
    args = dict(input_size=12, num_classes=9, hidden_size=6, num_layers=1, cell="lstm", pooling="mean")
    torch.manual_seed(0)
    save_model(tmp_path / "m", SequenceClassifier(**args), {"task": "classify", "model": args,
                                                             "labels": list("abcdefghi")})
    result = runner.invoke(app, ["export", "--model", str(tmp_path / "m"), "--format", "torchscript",
                                 "--out", str(tmp_path / "m.pt"), "--data", str(ts), "--json"])
    assert result.exit_code == 0, result.output
    cases = json.loads(result.stdout)["cases"]
    real = [(c["batch"], c["time"]) for c in cases if c["input"] == "real"]
    assert real == [(1, 1), (1, 7), (1, 23), (4, 1), (4, 7), (4, 23)]


def test_real_inputs_with_the_wrong_width_are_one_line(tmp_path):
    from pathlib import Path

    ts = Path(__file__).resolve().parents[2] / "src/rnnkit/datasets/classification/JapaneseVowels_TEST.ts"
    run = h.classifier_dir(tmp_path / "run")  # 3 features per step
    result = runner.invoke(app, ["export", "--model", str(run), "--format", "torchscript",
                                 "--out", str(tmp_path / "m.pt"), "--data", str(ts)])
    assert result.exit_code == 2
    assert result.stderr == f"error: {ts}: 12 features per step, the model takes 3\n"


def test_real_inputs_for_a_text_model(tmp_path):
    model_dir = h.charlm_dir(tmp_path / "lm", cell="rnn")
    (tmp_path / "t.txt").write_text("abcdefghij jihgfedcba? " * 5, encoding="utf-8")  # 115 chars, 2 unknown
    result = runner.invoke(app, ["export", "--model", str(model_dir), "--format", "torchscript",
                                 "--out", str(tmp_path / "lm.pt"), "--data", str(tmp_path / "t.txt"), "--json"])
    assert result.exit_code == 0, result.output
    cases = json.loads(result.stdout)["cases"]
    assert len([c for c in cases if c["input"] == "real"]) == 6
    assert max(c["exported_vs_eager"] for c in cases) < 1e-5

"""Export to TorchScript and ONNX: the files match eager PyTorch, stream, and declare dynamic axes."""
from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import torch

from rnnkit.errors import CheckpointError
from rnnkit.export import core as ex
from rnnkit.export.wrappers import torch_layer
from tests.export import helpers as h

HAS_ORT = importlib.util.find_spec("onnxruntime") is not None and importlib.util.find_spec("onnx") is not None
needs_ort = pytest.mark.skipif(not HAS_ORT, reason="onnx/onnxruntime not installed (pip install 'rnnkit[onnx]')")
FORMATS = ["torchscript", pytest.param("onnx", marks=needs_ort)]

# Default suite: every cell and every kind once; the slow grid has all 3 x 3.
QUICK = [("classify", "lstm"), ("text", "gru"), ("recurrent", "rnn")]
GRID = [(k, c) for k in ("classify", "text", "recurrent") for c in ("lstm", "gru", "rnn")]


def _export_and_check(tmp_path, kind, cell, fmt):
    spec = ex.spec_for(h.build(kind, cell), kind)
    path = ex.export_model(spec, tmp_path / f"m.{fmt}", fmt)
    report = ex.check_export(spec, path, fmt)
    assert [(r["batch"], r["time"]) for r in report["cases"]] == [
        (b, t) for b in (1, 4) for t in (1, 7, 23)
    ]
    assert report["max_abs_diff"] < 1e-5
    return spec, path


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("kind,cell", QUICK)
def test_export_matches_eager(tmp_path, kind, cell, fmt):
    _export_and_check(tmp_path, kind, cell, fmt)


@pytest.mark.slow
@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("kind,cell", GRID)
def test_export_matches_eager_full_grid(tmp_path, kind, cell, fmt):
    _export_and_check(tmp_path, kind, cell, fmt)


@pytest.mark.parametrize("pooling", ["mean", "attention"])
def test_classifier_poolings_torchscript(tmp_path, pooling):
    spec = ex.spec_for(h.classifier("gru", pooling=pooling), "classify")
    path = ex.export_model(spec, tmp_path / "m.pt", "torchscript")
    ex.check_export(spec, path, "torchscript", batches=(2,), lengths=(5,))


def test_check_fails_when_the_file_differs(tmp_path):
    spec = ex.spec_for(h.charlm("lstm"), "text")
    path = ex.export_model(spec, tmp_path / "m.pt", "torchscript")
    with torch.no_grad():
        spec.wrapper.back.head.bias.add_(1e-3)  # eager now differs from the saved file
    with pytest.raises(ex.ExportError, match=r"^export check: torchscript random B=1 T=1: output 0 differs"):
        ex.check_export(spec, path, "torchscript")


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_streaming_equals_whole_sequence_torchscript(tmp_path):
    spec = ex.spec_for(h.charlm("lstm"), "text")
    path = ex.export_model(spec, tmp_path / "m.pt", "torchscript")
    loaded = torch.jit.load(str(path))
    x = torch.randint(0, 11, (12, 1))  # (T, B=1)
    y_all, h_all, c_all = loaded(x, *spec.zero_state(1))
    state = spec.zero_state(1)
    ys = []
    for t in range(12):  # one step at a time, state carried
        y, *state = loaded(x[t : t + 1], *state)
        ys.append(y)
    assert torch.allclose(torch.cat(ys), y_all, rtol=1e-5, atol=1e-6)
    assert torch.allclose(state[0], h_all, rtol=1e-5, atol=1e-6)
    assert torch.allclose(state[1], c_all, rtol=1e-5, atol=1e-6)


@needs_ort
def test_onnx_declares_dynamic_batch_and_time(tmp_path):
    import onnx

    spec = ex.spec_for(h.classifier("lstm"), "classify")
    path = ex.export_model(spec, tmp_path / "m.onnx", "onnx")
    graph = onnx.load(str(path)).graph
    dims = {v.name: [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim]
            for v in list(graph.input) + list(graph.output)}
    assert dims["x"] == ["batch", "time", 3]
    assert dims["h0"] == [4, "batch", 6] and dims["c0"] == [4, "batch", 6]
    assert dims["y"] == ["batch", 4]
    assert dims["h_n"] == [4, "batch", 6] and dims["c_n"] == [4, "batch", 6]


@needs_ort
def test_onnx_streaming_in_onnxruntime(tmp_path):
    import onnxruntime as ort

    spec = ex.spec_for(h.charlm("gru"), "text")
    path = ex.export_model(spec, tmp_path / "m.onnx", "onnx")
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).integers(0, 11, size=(9, 1)).astype(np.int64)
    h0 = np.zeros((2, 1, 6), np.float32)
    y_all, h_all = sess.run(None, {"x": x, "h0": h0})
    y1, h1 = sess.run(None, {"x": x[:4], "h0": h0})
    y2, h2 = sess.run(None, {"x": x[4:], "h0": h1})
    np.testing.assert_allclose(np.concatenate([y1, y2]), y_all, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(h2, h_all, rtol=1e-5, atol=1e-6)


def test_torch_layer_copies_an_rnnkit_layer_exactly():
    from rnnkit.nn import GRU

    layer = GRU(3, 5, num_layers=2, bidirectional=True, backend="rnnkit")
    copy = torch_layer(layer)
    assert type(copy) is torch.nn.GRU
    for name, t in layer.state_dict().items():
        assert torch.equal(copy.state_dict()[name], t)


def test_load_for_export_from_run_folder(tmp_path):
    h.classifier_dir(tmp_path / "run")
    spec = ex.load_for_export(tmp_path / "run")
    assert spec.kind == "classify"
    assert ex.describe(spec)["inputs"] == ["x", "h0", "c0"]


def test_load_for_export_errors(tmp_path):
    with pytest.raises(CheckpointError, match=r"^--model '.*nope' does not exist$"):
        ex.load_for_export(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(CheckpointError, match=r"holds no model.json \(looked in it, in model/ and in checkpoints/best/\)$"):
        ex.load_for_export(tmp_path / "empty")


def test_export_errors(tmp_path):
    spec = ex.spec_for(h.recurrent("gru"), "recurrent")
    with pytest.raises(ex.ExportError, match=r"^--format must be one of torchscript, onnx, got 'tflite'$"):
        ex.export_model(spec, tmp_path / "m", "tflite")
    with pytest.raises(ex.ExportError, match=r"^--out '.*missing/m.pt': folder '.*missing' does not exist$"):
        ex.export_model(spec, tmp_path / "missing" / "m.pt", "torchscript")
    with pytest.raises(ex.ExportError, match=r"^--out '.*' is a folder; give a file name$"):
        ex.export_model(spec, tmp_path, "torchscript")


def test_the_lstm_fcn_classifier_is_refused_in_one_line():
    from rnnkit.models.lstm_fcn import LSTMFCN

    with pytest.raises(ex.ExportError, match=r"^export: a LSTMFCN classifier \(convolutions over the whole series\) "
                                             r"cannot be exported step by step yet; train with model='rnn' to export$"):
        ex.spec_for(LSTMFCN(2, 3, filters=(4, 4, 4)), "classify")


@pytest.mark.parametrize("crop", [0.9, 1.0])
def test_a_classifier_that_averages_windows_exports_with_a_one_line_warning(tmp_path, crop):
    import json

    from typer.testing import CliRunner

    from rnnkit.cli.app import app

    h.classifier_dir(tmp_path / "run")
    meta = tmp_path / "run" / "model" / "model.json"
    info = json.loads(meta.read_text())
    info["estimator"] = {"crop": crop, "crop_min_length": 64}
    meta.write_text(json.dumps(info))
    caveat = ex.window_caveat(ex.load_for_export(tmp_path / "run"))
    result = CliRunner().invoke(app, ["export", "--model", str(tmp_path / "run"), "--format", "torchscript",
                                        "--out", str(tmp_path / "m.pt")])
    assert result.exit_code == 0, result.output
    if crop == 1.0:
        assert caveat is None and "warning" not in result.output
        return
    assert caveat.startswith("the exported graph runs each series whole; this classifier's predict averages "
                             "windows of 0.9 times each series of 64 steps or more (crop < 1)")
    lines = [line for line in result.output.splitlines() if line.startswith("warning: ")]
    assert lines == [f"warning: {caveat}"]

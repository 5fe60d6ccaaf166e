"""``rnnkit diagnose`` at tiny sizes: JSON, table, plots, saved models, --model, errors."""
from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from rnnkit.cli.app import app

runner = CliRunner()
TINY = ["--lengths", "8,12", "--max-steps", "30", "--eval-every", "10", "--eval-size", "40",
        "--hidden-size", "6", "--batch-size", "8"]


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    import torch

    out = tmp_path_factory.mktemp("diag") / "run"
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        result = runner.invoke(app, ["diagnose", *TINY, "--out", str(out), "--json"])
        assert torch.get_num_threads() == 2  # the sweep's one thread is given back
    finally:
        torch.set_num_threads(threads)
    return result, out


def test_json_covers_every_cell_and_length(tiny_run):
    result, _ = tiny_run
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)  # one JSON object, nothing else on stdout
    assert summary["task"] == "adding"
    rows = summary["results"]
    assert [(r["cell"], r["T"]) for r in rows] == [
        (c, T) for T in (8, 12) for c in ("rnn", "lstm", "gru", "mingru")]
    for r in rows:
        assert isinstance(r["solved"], bool)
        assert isinstance(r["steps"], int) and 1 <= r["steps"] <= 30
        assert isinstance(r["effective_span"], int) and 0 <= r["effective_span"] < r["T"]
        assert r["solved"] == (r["score"] < 0.01)
        assert r["steps"] == 30 or r["solved"]


def test_the_run_folder_holds_table_plots_and_models(tiny_run):
    _, out = tiny_run
    on_disk = json.loads((out / "results.json").read_text())
    assert len(on_disk["results"]) == 8
    table = (out / "table.txt").read_text()
    assert "Elman RNN" in table and "MinGRU" in table and "relative_mse" in table
    for name in ("gradient_flow.png", "accuracy_vs_T.png"):
        data = (out / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
    assert json.loads((out / "config.json").read_text())["lengths"] == [8, 12]
    flows = json.loads((out / "gradient_norms.json").read_text())
    assert [(f["cell"], f["T"], len(f["before"]), len(f["after"])) for f in flows][:2] == [
        ("rnn", 8, 8, 8), ("lstm", 8, 8, 8)]
    for cell in ("rnn", "lstm", "gru", "mingru"):
        assert (out / "models" / f"{cell}-T12" / "model.safetensors").is_file()


def test_model_option_measures_a_saved_model_on_its_own_task(tiny_run, tmp_path):
    _, out = tiny_run
    result = runner.invoke(app, ["diagnose", "--model", str(out / "models" / "lstm-T12"),
                                 "--out", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    got = json.loads(result.stdout)
    assert (got["cell"], got["task"], got["T"]) == ("lstm", "adding", 12)
    assert len(got["norms"]["l0"]) == 12 and got["norms"]["l0"][-1] > 0
    assert 0 <= got["effective_span"]["l0"] < 12
    assert (tmp_path / "model_gradient_flow.png").stat().st_size > 10_000


def test_the_table_is_printed_without_json(tmp_path):
    result = runner.invoke(app, ["diagnose", *TINY, "--lengths", "8", "--cells", "rnn,gru",
                                 "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "Elman RNN" in result.stdout and "GRU" in result.stdout
    assert "LSTM" not in result.stdout.split("task:")[1]


@pytest.mark.parametrize("args,message", [
    (["--lengths", "8,x"], "error: --lengths: expected comma-separated integers, got '8,x'\n"),
    (["--cells", "rnn,tcn"], "error: cells: expected some of rnn, lstm, gru, mingru, got 'tcn'\n"),
    (["--task", "parity"], "error: task: expected one of adding, copy, digits, got 'parity'\n"),
    (["--max-steps", "0"], "error: max_steps: expected an int >= 1, got 0\n"),
    (["--task", "digits", "--lengths", "100"], "error: T: the digits task needs multiples of 64, got 100\n"),
])
def test_bad_options_are_one_line_errors(args, message, tmp_path):
    result = runner.invoke(app, ["diagnose", *args, "--out", str(tmp_path / "x")])
    assert result.exit_code == 2
    assert result.stderr == message
    assert not (tmp_path / "x").exists()


def test_a_folder_that_is_not_a_diagnostics_model_is_one_line(tmp_path):
    result = runner.invoke(app, ["diagnose", "--model", str(tmp_path / "nope")])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
    assert "nope" in result.stderr


@pytest.mark.parametrize("task,lengths,metric", [("copy", "5", "accuracy"), ("digits", "64", "accuracy")])
def test_the_other_tasks_run_at_tiny_sizes(task, lengths, metric, tmp_path):
    if task == "digits":
        pytest.importorskip("sklearn")
    result = runner.invoke(app, ["diagnose", "--task", task, "--lengths", lengths, "--cells",
                                 "gru,mingru", "--max-steps", "10", "--eval-every", "5",
                                 "--eval-size", "20", "--hidden-size", "6", "--json",
                                 "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["task"] == task
    for row in summary["results"]:
        assert row["metric"] == metric and 0.0 <= row["score"] <= 1.0
        assert row["solved"] == (row["score"] >= (0.99 if task == "copy" else 0.9))
    assert (tmp_path / "accuracy_vs_T.png").stat().st_size > 10_000


def test_a_model_folder_of_another_command_is_named_in_one_line(tmp_path):
    import torch

    from rnnkit.training.checkpoint import save_model

    save_model(tmp_path / "m", torch.nn.Linear(2, 2), {"input_size": 2, "cell": "lstm"})
    result = runner.invoke(app, ["diagnose", "--model", str(tmp_path / "m"), "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert result.stderr == (f"error: {str(tmp_path / 'm' / 'model.json')!r} is not a diagnostics "
                             "model: missing problem, hidden_size, num_layers, T\n")


def test_saved_models_carry_the_registry_tags_and_export_points_to_diagnose(tiny_run, tmp_path):
    """model.json of a diagnose model follows the one schema (task tag "diagnose", format,
    the long-memory problem under "problem"); other commands name the way to open it."""
    _, out = tiny_run
    folder = out / "models" / "gru-T12"
    info = json.loads((folder / "model.json").read_text())
    assert (info["task"], info["format"], info["problem"], info["cell"]) == (
        "diagnose", 1, "adding", "gru")
    result = runner.invoke(app, ["export", "--model", str(folder), "--format", "torchscript",
                                 "--out", str(tmp_path / "m.pt")])
    assert result.exit_code == 2
    assert "open it with: rnnkit diagnose --model DIR" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1

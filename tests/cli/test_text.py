"""`rnnkit text train | evaluate | generate`: round trip and one-line errors."""
from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from rnnkit.cli.app import app

runner = CliRunner()
CORPUS = "".join(f"Speaker{i % 3}:\nLine {i}, to be or not to be.\n\n" for i in range(100))
TINY = ["--set", "model.hidden_size=16", "--set", "model.embed_dim=8", "--set", "train.batch_size=4",
        "--set", "data.seq_len=16", "--set", "train.threads=1", "--set", "train.progress=false"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli_text")
    data = root / "corpus.txt"
    data.write_text(CORPUS, encoding="utf-8")
    out = root / "run"
    result = runner.invoke(app, ["text", "train", "--data", str(data), "--out", str(out),
                                 "--epochs", "1", "--time-budget", "30", *TINY])
    assert result.exit_code == 0, result.output
    assert "bits/char" in result.stdout
    return data, out


def test_train_evaluate_generate_round_trip(run_dir):
    data, out = run_dir
    metrics = json.loads((out / "metrics.json").read_text())
    assert {"val_bits_per_char", "val_nats_per_char", "train_chars", "val_chars"} <= set(metrics)
    assert (out / "loss.png").is_file() and (out / "model" / "model.json").is_file()

    result = runner.invoke(app, ["text", "evaluate", "--model", str(out), "--data", str(data), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["chars"] == len(CORPUS)

    result = runner.invoke(app, ["text", "evaluate", "--model", str(out), "--data", str(data)])
    assert result.exit_code == 0 and result.stdout.strip().endswith("characters scored)")
    assert f"{report['bits_per_char']:.4f} bits/char" in result.stdout

    args = ["text", "generate", "--model", str(out), "--prime", "Speaker", "--length", "40",
            "--temperature", "0.8", "--top-k", "5", "--top-p", "0.9", "--seed", "1"]
    first, second = runner.invoke(app, args), runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert first.stdout == second.stdout
    assert first.stdout.startswith("Speaker") and len(first.stdout) == len("Speaker") + 40 + 1


def test_time_budget_is_passed_to_the_trainer(run_dir):
    _, out = run_dir
    config = json.loads((out / "config.json").read_text())
    assert config["train"]["time_budget"] == 30.0 and config["train"]["epochs"] == 1


def test_prime_with_unseen_characters_warns_in_one_line(run_dir):
    _, out = run_dir
    result = runner.invoke(app, ["text", "generate", "--model", str(out), "--prime", "Zoë",
                                 "--length", "5", "--seed", "0"])
    assert result.exit_code == 0
    assert result.stderr == (
        "warning: --prime: 2 character(s) not in the model's vocabulary were mapped to the "
        "unknown symbol: 'Z' (U+005A), 'ë' (U+00EB)\n"
    )
    assert result.stdout.startswith("Zoë") and len(result.stdout) == 3 + 5 + 1


def _train(tmp_path, content: bytes):
    data = tmp_path / "bad.txt"
    data.write_bytes(content)
    return data, runner.invoke(app, ["text", "train", "--data", str(data), "--out",
                                     str(tmp_path / "run"), *TINY])


def test_empty_file_exits_2_with_one_line(tmp_path):
    data, result = _train(tmp_path, b"")
    assert result.exit_code == 2
    assert result.stderr == f"error: text file {data}: the file is empty; a corpus needs text\n"


def test_non_utf8_exits_2_with_one_line(tmp_path):
    data, result = _train(tmp_path, b"Romeo:\n\xff\xfe bad\n")
    assert result.exit_code == 2
    assert result.stderr == (f"error: text file {data}: line 2, column 1: byte 0xff at offset 7 "
                             "is not valid UTF-8; re-save the file as UTF-8\n")


def test_corpus_shorter_than_one_chunk_exits_2(tmp_path):
    data, result = _train(tmp_path, b"Romeo:\nWherefore art thou.\n\n" * 2)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: text file {data} (training part): ")
    assert "is shorter than one training chunk, which needs batch_size * seq_len + 1 = 4 * 16 + 1 = 65" in result.stderr
    assert result.stderr.count("\n") == 1


def test_bad_sampling_option_exits_2(run_dir):
    _, out = run_dir
    result = runner.invoke(app, ["text", "generate", "--model", str(out), "--top-p", "2"])
    assert result.exit_code == 2
    assert result.stderr == "error: --top-p: must be in (0, 1], saw 2.0\n"


def test_missing_model_exits_2(tmp_path):
    result = runner.invoke(app, ["text", "generate", "--model", str(tmp_path / "nope")])
    assert result.exit_code == 2
    assert result.stderr == f"error: --model: {str(tmp_path / 'nope')!r} does not exist\n"


def test_resume_continues_the_run_from_its_config(tmp_path):
    """`text train --resume DIR` reads DIR's config.json (whose data_file entry is not a
    config table) and its text, and ends where an uninterrupted run ends."""
    data = tmp_path / "corpus.txt"
    data.write_text(CORPUS, encoding="utf-8")
    full, part = tmp_path / "full", tmp_path / "part"
    # No schedule: text's cosine schedule spans train.epochs, so a run of 1 epoch resumed
    # to 2 follows a different schedule than a run of 2 (it did pass before only because
    # --epochs used to drop the text defaults, cosine among them).
    common = ["--data", str(data), *TINY, "--seed", "3", "--set", "train.scheduler=none"]
    result = runner.invoke(app, ["text", "train", "--out", str(full), "--epochs", "2", *common])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["text", "train", "--out", str(part), "--epochs", "1", *common])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["text", "train", "--resume", str(part), "--epochs", "2"])
    assert result.exit_code == 0, result.output
    a = json.loads((full / "metrics.json").read_text())
    b = json.loads((part / "metrics.json").read_text())
    assert a["val_bits_per_char"] == pytest.approx(b["val_bits_per_char"], rel=1e-9)


def test_epochs_and_time_budget_keep_the_text_defaults(tmp_path):
    """Issue 15 fault 8: --epochs / --time-budget / --set train.* used to replace the text
    task's [train] defaults (lr 4e-3, cosine to 0.1) with the generic ones (1e-3, none)."""
    data = tmp_path / "corpus.txt"
    data.write_text(CORPUS, encoding="utf-8")
    out = tmp_path / "run"
    result = runner.invoke(app, ["text", "train", "--data", str(data), "--out", str(out), *TINY,
                                 "--epochs", "1", "--time-budget", "300", "--max-steps", "3"])
    assert result.exit_code == 0, result.output
    train = json.loads((out / "config.json").read_text())["train"]
    assert (train["lr"], train["scheduler"], train["min_lr_ratio"]) == (4e-3, "cosine", 0.1)
    assert (train["epochs"], train["time_budget"], train["max_steps"]) == (1, 300.0, 3)
    saved = json.loads((out / "model" / "model.json").read_text())
    assert (saved["task"], saved["format"]) == ("text", 1)


def test_epochs_zero_is_one_line_error(tmp_path):
    """Issue 15 fault 9: --epochs 0 used to train one epoch, then fail on a checkpoint."""
    result = runner.invoke(app, ["text", "train", "--out", str(tmp_path / "r"), "--epochs", "0"])
    assert result.exit_code == 2
    assert result.output.strip() == "error: train.epochs must be > 0, got 0"


def test_a_too_short_text_names_options_that_exist(tmp_path):
    """The message used to suggest --batch-size/--seq-len, which text train does not take;
    the keys it names now work as printed."""
    data = tmp_path / "short.txt"
    data.write_text("abcdefghij" * 20, encoding="utf-8")
    out = tmp_path / "r"
    args = ["text", "train", "--data", str(data), "--out", str(out), "--epochs", "1",
            "--set", "model.hidden_size=8", "--set", "train.progress=false"]
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    hint = result.output.strip().split("e.g. ")[-1].split()
    assert hint[0] == "--set" and "--batch-size" not in result.output
    result = runner.invoke(app, args + hint)
    assert result.exit_code == 0, result.output


def test_a_second_run_into_the_same_out_refuses_unless_overwrite(run_dir):
    data, out = run_dir
    args = ["text", "train", "--data", str(data), "--out", str(out), "--epochs", "1", "--time-budget", "30", *TINY]
    before = (out / "model" / "model.safetensors").read_bytes()
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(f"error: --out {str(out)!r} already holds a text run (config.json, ")
    assert result.stderr.count("\n") == 1
    assert (out / "model" / "model.safetensors").read_bytes() == before

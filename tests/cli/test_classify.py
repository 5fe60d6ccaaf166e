"""`rnnkit classify`: tiny train -> predict -> evaluate round trips on WAVs and on .ts,
and one-line errors with exit code 2."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from scipy.io import wavfile
from typer.testing import CliRunner

from rnnkit.cli.app import app
from rnnkit.data.ts_format import read_ts, write_ts

runner = CliRunner()
DATASETS = Path(__file__).resolve().parents[2] / "src" / "rnnkit" / "datasets"
DIGITS = DATASETS / "speech" / "spoken_digits_synth"
SPEAKERS = ("espeak-en-us-m3", "espeak-en-us-f2", "festival-kal-v2", "flite-awb-v2")  # 4 of the 48
SPEAKER = r"^\d_(.+)\.wav$"
TINY = ["--set", "train.progress=false", "--model.hidden_size", "8", "--model.num_layers", "1", "--epochs", "2"]


@pytest.fixture
def wavs(tmp_path):
    folder = tmp_path / "wavs"
    folder.mkdir()
    for digit in (0, 1):
        for spk in SPEAKERS:
            shutil.copy(DIGITS / f"{digit}_{spk}.wav", folder)
    return folder


def test_wav_round_trip(wavs, tmp_path):
    out = tmp_path / "run"
    (wavs / "2_recorded.m4a").write_bytes(b"....ftyp")  # not read, but named: never left out unsaid
    result = runner.invoke(app, ["classify", "train", "--train", str(wavs), "--label-pattern", r"^(\d)_",
                                 "--group-pattern", SPEAKER, "--out", str(out), "--augment", *TINY])
    assert result.exit_code == 0, result.output
    assert [line for line in result.stderr.splitlines() if line.startswith("warning")] == [
        f"warning: {wavs}: 1 audio file is not WAV and is left out (1 .m4a; first: {wavs}/2_recorded.m4a); "
        "convert to WAV to use them (e.g. ffmpeg -i in.flac out.wav)"]
    assert "2 classes, 39 features per step" in result.stdout
    assert json.loads((out / "config.json").read_text())["data"]["augment"] is True
    metrics = json.loads((out / "metrics.json").read_text())
    assert {"accuracy", "n_test", "per_class"} <= set(metrics) and set(metrics["per_class"]) == {"0", "1"}
    assert (out / "confusion.png").is_file()
    split = json.loads((out / "summary.json").read_text())["split"]
    assert split["test"]["n_groups"] == 1 and not set(split["test"]["groups"]) & set(split["train"]["groups"])

    inputs = [str(wavs / "0_espeak-en-us-m3.wav"), str(wavs / "1_flite-awb-v2.wav")]
    result = runner.invoke(app, ["classify", "predict", "--model", str(out), *inputs])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 2
    for line, name in zip(lines, inputs):
        path, label, prob = line.split("\t")
        assert path == name and label in ("0", "1") and 0.5 <= float(prob) <= 1.0

    result = runner.invoke(app, ["classify", "evaluate", "--model", str(out), "--test", str(wavs),
                                 "--label-pattern", r"^(\d)_"])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert printed["n_test"] == 8 and set(printed["per_class"]) == {"0", "1"}


def test_ts_round_trip_with_config_file(tmp_path):
    full = read_ts(DATASETS / "classification" / "JapaneseVowels_TRAIN.ts")
    keep = [i for i, y in enumerate(full.labels) if y in ("1", "2")]
    train, test = keep[0:8] + keep[30:38], keep[8:12] + keep[38:42]  # the file is sorted by label
    write_ts(tmp_path / "train.ts", [full.series[i] for i in train], [full.labels[i] for i in train])
    write_ts(tmp_path / "test.ts", [full.series[i] for i in test], [full.labels[i] for i in test])
    (tmp_path / "c.toml").write_text("[train]\nbatch_size = 4\n[model]\ncell = 'gru'\npooling = 'attention'\n")
    out = tmp_path / "run"
    result = runner.invoke(app, ["classify", "train", "--train", str(tmp_path / "train.ts"),
                                 "--test", str(tmp_path / "test.ts"), "--out", str(out),
                                 "--config", str(tmp_path / "c.toml"), *TINY])
    assert result.exit_code == 0, result.output
    config = json.loads((out / "config.json").read_text())
    assert config["train"]["batch_size"] == 4 and config["model"]["cell"] == "gru"
    assert config["train"]["lr"] == 3e-3  # the classify default survives a partial [train] table
    result = runner.invoke(app, ["classify", "predict", "--model", str(out), str(tmp_path / "test.ts")])
    assert result.exit_code == 0, result.output
    lines = [line.split("\t") for line in result.stdout.splitlines()]
    assert len(lines) == 8 and all(label in ("1", "2") for _, label, _ in lines)
    assert lines[0][0] == f"{tmp_path / 'test.ts'}:{read_ts(tmp_path / 'test.ts').lines[0]}"


def _error(args):
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.output
    return result.stderr.strip()


def test_bad_inputs_give_one_line_errors(wavs, tmp_path):
    out = str(tmp_path / "run")
    assert _error(["classify", "train", "--train", str(wavs), "--label-pattern", r"^x(\d)", "--out", out]) == (
        f"error: {wavs / '0_espeak-en-us-f2.wav'}: --label-pattern '^x(\\d)' does not match the file name "
        "'0_espeak-en-us-f2.wav'")
    empty = tmp_path / "empty"
    empty.mkdir()
    assert _error(["classify", "train", "--train", str(empty), "--out", out]) == (
        f"error: {empty}: folder has no class sub-folders")
    (wavs / "9_bad.wav").write_text("not audio")
    message = _error(["classify", "train", "--train", str(wavs), "--label-pattern", r"^(\d)_", "--out", out])
    assert message.startswith(f"error: {wavs / '9_bad.wav'}: not a readable WAV file (")
    (wavs / "9_bad.wav").unlink()
    wavfile.write(wavs / "9_bad.wav", 8000, np.zeros(0, dtype=np.int16))
    assert _error(["classify", "train", "--train", str(wavs), "--label-pattern", r"^(\d)_", "--out", out]) == (
        f"error: {wavs / '9_bad.wav'}: has zero audio samples")
    assert _error(["classify", "predict", "--model", str(tmp_path / "nothing"), str(wavs / "0_espeak-en-us-m3.wav")]) == (
        f"error: {tmp_path / 'nothing'}: no classifier here (expected {tmp_path / 'nothing' / 'model' / 'model.json'})")
    assert _error(["classify", "train", "--train", str(wavs), "--out", out, "--set", "model.cell=tcn"]) == (
        "error: model.cell must be one of 'lstm' | 'gru' | 'rnn', got 'tcn'")


def _two_speakers(path):
    """A small training file: 6 series of each of JapaneseVowels' first two speakers."""
    full = read_ts(DATASETS / "classification" / "JapaneseVowels_TRAIN.ts")
    keep = [i for i, y in enumerate(full.labels) if y in ("1", "2")]
    keep = keep[0:6] + keep[30:36]  # the file is sorted by label
    write_ts(path, [full.series[i] for i in keep], [full.labels[i] for i in keep])


def test_resume_takes_the_run_config_and_data_paths(tmp_path):
    _two_speakers(tmp_path / "train.ts")
    out = tmp_path / "run"
    args = ["classify", "train", "--train", str(tmp_path / "train.ts"), "--out", str(out), "--set", "model.cell=gru"]
    assert runner.invoke(app, [*args, *TINY]).exit_code == 0
    result = runner.invoke(app, ["classify", "train", "--resume", str(out)])  # nothing left to train
    assert result.exit_code == 0, result.output
    assert "after 2 epochs" in result.stdout
    assert json.loads((out / "config.json").read_text())["model"]["cell"] == "gru"


def test_resume_errors_are_one_line(tmp_path):
    assert _error(["classify", "train", "--resume", str(tmp_path / "none")]) == (
        f"error: --resume: run folder {str(tmp_path / 'none')!r} does not exist")
    (tmp_path / "config.json").write_text(json.dumps({"train_path": str(tmp_path / "x.ts"), "test_path": None}))
    assert _error(["classify", "train", "--resume", str(tmp_path)]) == (
        f"error: cannot resume: {str(tmp_path)!r} holds no checkpoint "
        f"({str(tmp_path / 'checkpoints' / 'last')!r} does not exist)")
    assert _error(["classify", "train", "--out", str(tmp_path / "r")]) == (
        "error: --train is required: a .ts file or a folder of WAV files")


@pytest.mark.parametrize("option, key, value, refusal", [
    ("model.members=2", "members", 2,
     "error: export: a classifier with model.members = 2 (an ensemble) cannot be exported yet; "
     "train with model.members = 1 to export"),
    ("model.deltas=true", "deltas", True,
     "error: export: a classifier with model.deltas = true cannot be exported yet "
     "(the streaming front end has no step differences); train without it to export"),
])
def test_ensemble_or_deltas_classifier_trains_predicts_and_export_refuses(tmp_path, option, key, value, refusal):
    full = read_ts(DATASETS / "classification" / "JapaneseVowels_TRAIN.ts")
    keep = [i for i, y in enumerate(full.labels) if y in ("1", "2")]
    train, test = keep[0:8] + keep[30:38], keep[8:12] + keep[38:42]  # the file is sorted by label
    write_ts(tmp_path / "train.ts", [full.series[i] for i in train], [full.labels[i] for i in train])
    write_ts(tmp_path / "test.ts", [full.series[i] for i in test], [full.labels[i] for i in test])
    out = tmp_path / "run"
    result = runner.invoke(app, ["classify", "train", "--train", str(tmp_path / "train.ts"),
                                 "--test", str(tmp_path / "test.ts"), "--out", str(out),
                                 "--set", "model.network=rnn", "--set", "model.cell=gru", "--set", option, *TINY])
    assert result.exit_code == 0, result.output
    assert json.loads((out / "model" / "model.json").read_text())["model"][key] == value
    result = runner.invoke(app, ["classify", "predict", "--model", str(out), str(tmp_path / "test.ts")])
    assert result.exit_code == 0, result.output
    assert len(result.stdout.splitlines()) == 8
    result = runner.invoke(app, ["classify", "evaluate", "--model", str(out), "--test", str(tmp_path / "test.ts")])
    assert result.exit_code == 0, result.output
    assert _error(["export", "--model", str(out), "--format", "torchscript", "--out", str(tmp_path / "m.pt")]) == refusal


def test_a_classifier_fitted_in_python_serves_predict_and_evaluate(tmp_path):
    from rnnkit.tasks.classify import Classifier

    rng = np.random.default_rng(0)
    series = [np.linspace(-1, 1, 12)[:, None] * (1 if i % 2 else -1) + 0.1 * rng.normal(size=(12, 1))
              for i in range(16)]
    labels = ["rise" if i % 2 else "fall" for i in range(16)]
    Classifier(hidden_size=4, num_layers=1, min_steps=30, max_steps=30).fit(series, labels).save(tmp_path / "m")
    write_ts(tmp_path / "test.ts", series[:6], labels[:6])
    result = runner.invoke(app, ["classify", "predict", "--model", str(tmp_path / "m"), str(tmp_path / "test.ts")])
    assert result.exit_code == 0, result.output
    assert [line.split("\t")[1] for line in result.stdout.splitlines()] == labels[:6]
    result = runner.invoke(app, ["classify", "evaluate", "--model", str(tmp_path / "m"), "--test",
                                 str(tmp_path / "test.ts")])
    assert result.exit_code == 0 and json.loads(result.stdout)["accuracy"] == 1.0, result.output
    assert _error(["export", "--model", str(tmp_path / "m"), "--format", "torchscript", "--out",
                   str(tmp_path / "m.pt")]).startswith(
        "error: export: this classifier z-normalises each whole series before its network")


def test_train_says_in_one_line_when_the_loss_stays_at_chance(tmp_path):
    rng = np.random.default_rng(0)
    same = rng.normal(size=(10, 2))  # every case the same series: nothing to learn
    write_ts(tmp_path / "train.ts", [same] * 24, [str(k) for k in rng.integers(0, 3, 24)])
    result = runner.invoke(app, ["classify", "train", "--train", str(tmp_path / "train.ts"),
                                 "--out", str(tmp_path / "run"), *TINY])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stdout.splitlines() if "chance level" in line]
    assert len(lines) == 1 and lines[0].startswith("classify: warning: the training loss stayed at the chance level")
    assert json.loads((tmp_path / "run" / "summary.json").read_text())["chance_level"] is True


def test_a_second_run_into_the_same_out_refuses_unless_overwrite(tmp_path):
    _two_speakers(tmp_path / "train.ts")
    out = tmp_path / "run"
    args = ["classify", "train", "--train", str(tmp_path / "train.ts"), "--out", str(out), *TINY]
    assert runner.invoke(app, args).exit_code == 0
    (out / "notes.txt").write_text("mine")
    model = (out / "model" / "model.safetensors").read_bytes()
    result = runner.invoke(app, [*args, "--seed", "1"])
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(f"error: --out {str(out)!r} already holds a classify run (config.json, ")
    assert result.stderr.count("\n") == 1 and "--overwrite" in result.stderr
    assert (out / "model" / "model.safetensors").read_bytes() == model  # nothing was touched
    result = runner.invoke(app, [*args, "--seed", "1", "--overwrite"])
    assert result.exit_code == 0, result.output
    assert (out / "model" / "model.safetensors").read_bytes() != model  # the new seed's weights
    assert (out / "notes.txt").read_text() == "mine"
    assert json.loads((out / "config.json").read_text())["train"]["seed"] == 1
    assert _error(["classify", "train", "--resume", str(out), "--overwrite"]).endswith(
        "--overwrite and --resume exclude each other: --resume continues the run in the folder, "
        "--overwrite replaces it")

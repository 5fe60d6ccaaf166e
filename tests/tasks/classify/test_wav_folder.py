"""Predicting a folder of the user's own WAVs: awkward formats work, bad files are skipped with
one warning line each, and a folder with nothing usable is a one-line error."""
from __future__ import annotations

import shutil
import wave
from pathlib import Path

import numpy as np
import pytest
from scipy.io import wavfile
from typer.testing import CliRunner

from rnnkit.cli.app import app
from rnnkit.data.wav import read_wav, resample
from rnnkit.errors import DataError
from rnnkit.tasks.classify.config import ClassifyConfig, default_config
from rnnkit.tasks.classify.pipeline import train_classifier
from rnnkit.tasks.classify.wav_folder import predict_wav_folder
from rnnkit.training.config import apply_overrides, from_dict

DIGITS = Path(__file__).resolve().parents[3] / "src" / "rnnkit" / "datasets" / "speech" / "spoken_digits_synth"
SPEAKERS = ("espeak-en-us-f2", "festival-kal-v2", "flite-awb-v2", "flite-rms-v1")


def write_pcm24(path: Path, rate: int, samples: np.ndarray) -> None:
    """(N, channels) floats in [-1, 1] -> a 24-bit PCM WAV, written with the standard library."""
    ints = np.round(np.clip(samples, -1, 1 - 2**-23) * 2**23).astype("<i4")  # (N, C)
    raw = ints.reshape(-1).view(np.uint8).reshape(-1, 4)[:, :3].tobytes()   # low 3 bytes of each
    with wave.open(str(path), "wb") as w:
        w.setnchannels(samples.shape[1])
        w.setsampwidth(3)
        w.setframerate(rate)
        w.writeframes(raw)


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    root = tmp_path_factory.mktemp("wavfolder")
    train = root / "train"
    train.mkdir()
    for digit in (1, 7):
        for spk in SPEAKERS:
            shutil.copy(DIGITS / f"{digit}_{spk}.wav", train)
    cfg = from_dict(ClassifyConfig, apply_overrides(default_config(), [
        "data.label_pattern='^(\\d)_'", "data.group_pattern='^\\d_(.+)\\.wav$'", "train.epochs=2",
        "train.progress=false", "model.hidden_size=8", "model.num_layers=1"]))
    train_classifier(train, root / "run", config=cfg, log=lambda _: None)
    return root / "run"


@pytest.fixture
def folder(tmp_path):
    """Four usable recordings in four formats, and four files that are not."""
    mine = tmp_path / "mine"
    (mine / "sub").mkdir(parents=True)
    x, rate = read_wav(DIGITS / "7_flite-slt-v2.wav")                     # 16 kHz mono
    shutil.copy(DIGITS / "1_festival-ked-v1.wav", mine / "a_plain.wav")    # 8 kHz 16-bit mono
    loud = resample(x, rate, 44100)
    write_pcm24(mine / "b_stereo44k24bit.wav", 44100, np.stack([loud, 0.5 * loud], axis=1))
    wavfile.write(mine / "c_float.WAV", 16000, x.astype(np.float32))     # 32-bit float
    wavfile.write(mine / "sub" / "d_22k.wav", 22050, (resample(x, rate, 22050) * 32767).astype(np.int16))
    (mine / "e_zero_length.wav").write_bytes(b"")
    good = (mine / "a_plain.wav").read_bytes()
    (mine / "f_corrupt.wav").write_bytes(good[:12] + b"\xff" * 40)       # header cut, garbage after
    (mine / "g_not_audio.wav").write_text("these are my notes, not a recording\n")
    (mine / "h_notes.txt").write_text("a readme\n")
    (mine / ".hidden.wav").write_bytes(b"")                              # ignored
    return mine


def test_reads_24_bit_stereo_at_44k_like_the_mono_original(tmp_path):
    x, rate = read_wav(DIGITS / "7_flite-slt-v2.wav")
    loud = resample(x, rate, 44100)
    write_pcm24(tmp_path / "s.wav", 44100, np.stack([loud, 0.5 * loud], axis=1))
    y, r = read_wav(tmp_path / "s.wav", rate)
    assert r == rate and abs(y.size - x.size) <= 1
    n = min(x.size, y.size)
    assert np.max(np.abs(y[:n] - 0.75 * x[:n])) < 0.01  # channels averaged: (1 + 0.5) / 2


def test_every_usable_file_is_predicted_and_each_bad_one_warned(model, folder):
    warnings: list[str] = []
    rows = predict_wav_folder(model, folder, warn=warnings.append)
    assert [Path(name).name for name, _, _ in rows] == [
        "a_plain.wav", "b_stereo44k24bit.wav", "c_float.WAV", "d_22k.wav"]
    assert all(label in ("1", "7") and 0.5 <= prob <= 1.0 for _, label, prob in rows)
    assert len(warnings) == 4 and all("\n" not in w for w in warnings)
    assert warnings[0] == f"{folder / 'e_zero_length.wav'}: not a readable WAV file (no RIFF/WAVE header); skipped"
    assert warnings[1].startswith(f"{folder / 'f_corrupt.wav'}: not a readable WAV file (")
    assert warnings[2] == f"{folder / 'g_not_audio.wav'}: not a readable WAV file (no RIFF/WAVE header); skipped"
    assert warnings[3] == f"{folder / 'h_notes.txt'}: skipped, not a .wav file"


def test_cli_prints_rows_and_warnings_and_exits_0(model, folder):
    result = CliRunner().invoke(app, ["classify", "predict", "--model", str(model), str(folder)])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 4
    for line in lines:
        name, label, prob = line.split("\t")
        assert Path(name).is_file() and label in ("1", "7") and 0.5 <= float(prob) <= 1.0
    warned = result.stderr.splitlines()
    assert len(warned) == 4 and all(w.startswith("warning: ") for w in warned)
    assert "Traceback" not in result.output


def test_a_folder_with_nothing_usable_is_one_error_line(model, folder, tmp_path):
    for name in ("a_plain.wav", "b_stereo44k24bit.wav", "c_float.WAV", "sub/d_22k.wav"):
        (folder / name).unlink()
    with pytest.raises(DataError, match=r"no WAV file here could be predicted \(4 skipped\)$"):
        predict_wav_folder(model, folder, warn=lambda _: None)
    result = CliRunner().invoke(app, ["classify", "predict", "--model", str(model), str(folder)])
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.splitlines()[-1] == f"error: {folder}: no WAV file here could be predicted (4 skipped)"
    assert len(result.stderr.splitlines()) == 5  # four warnings, one error


@pytest.mark.parametrize("bits", [16, 24])
def test_read_wav_cuts_a_long_file_to_its_first_seconds_with_one_line(tmp_path, bits):
    x = np.random.default_rng(0).uniform(-0.5, 0.5, 3 * 8000).astype(np.float32)  # 3 s at 8 kHz
    path = tmp_path / "long.wav"
    if bits == 16:
        wavfile.write(path, 8000, (x * 32767).astype(np.int16))
    else:
        write_pcm24(path, 8000, x[:, None])
    lines: list[str] = []
    head, rate = read_wav(path, 8000, max_seconds=1.25, warn=lines.append)
    whole, _ = read_wav(path, 8000)
    assert rate == 8000 and head.size == 10000 and np.array_equal(head, whole[:10000])
    assert lines == [f"{path}: 3.0 s long; only its first 1.25 s are used"]
    short, _ = read_wav(path, 8000, max_seconds=5.0, warn=lines.append)
    assert np.array_equal(short, whole) and len(lines) == 1


def test_a_long_recording_is_predicted_on_its_first_seconds(model, tmp_path, monkeypatch):
    import rnnkit.tasks.classify.wav_folder as wav_folder

    monkeypatch.setattr(wav_folder, "MAX_SECONDS", 1.0)
    x, rate = read_wav(DIGITS / "7_flite-slt-v2.wav", 8000)                     # under 1 s
    noise = np.random.default_rng(1).uniform(-0.3, 0.3, 4 * rate).astype(np.float32)
    head = np.concatenate([x, np.zeros(rate - x.size, np.float32)])            # (rate,)
    (tmp_path / "long").mkdir()
    (tmp_path / "head").mkdir()
    wavfile.write(tmp_path / "long" / "talk.wav", rate, np.concatenate([head, noise]))  # 5 s
    wavfile.write(tmp_path / "head" / "talk.wav", rate, head)
    lines: list[str] = []
    long_rows = wav_folder.predict_wav_folder(model, tmp_path / "long", warn=lines.append)
    head_rows = wav_folder.predict_wav_folder(model, tmp_path / "head", warn=lines.append)
    assert lines == [f"{tmp_path / 'long' / 'talk.wav'}: 5.0 s long; only its first 1 s are used"]
    assert long_rows[0][1:] == head_rows[0][1:]

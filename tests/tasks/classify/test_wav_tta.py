"""Test-time augmentation in training's evaluation, evaluate, predict and the WAV-folder predict:
audio.tta = 0 predicts exactly as before; audio.tta = N averages the clean file and N views."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from rnnkit.data.audio import AudioConfig
from rnnkit.data.audio_tta import tta_features
from rnnkit.data.wav import read_wav
from rnnkit.tasks.classify.config import ClassifyConfig, default_config
from rnnkit.tasks.classify.estimator import Classifier
from rnnkit.tasks.classify.pipeline import evaluate_classifier, predict_classifier, train_classifier
from rnnkit.tasks.classify.wav_folder import predict_wav_folder
from rnnkit.training.config import apply_overrides, from_dict

DIGITS = Path(__file__).resolve().parents[3] / "src" / "rnnkit" / "datasets" / "speech" / "spoken_digits_synth"
TRAIN = ("espeak-en-us-f2", "festival-kal-v2", "flite-awb-v2", "flite-rms-v1")
TEST = ("espeak-de-m2", "festival-ked-v1")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The same tiny model trained twice (seed 0), recorded with audio.tta = 0 and = 3."""
    root = tmp_path_factory.mktemp("tta")
    for part, speakers in (("train", TRAIN), ("test", TEST)):
        (root / part).mkdir()
        for digit in (1, 7):
            for spk in speakers:
                shutil.copy(DIGITS / f"{digit}_{spk}.wav", root / part)
    out = {}
    for n in (0, 3):
        cfg = from_dict(ClassifyConfig, apply_overrides(default_config(), [
            "data.label_pattern='^(\\d)_'", "data.group_pattern='^\\d_(.+)\\.wav$'", "train.epochs=2",
            "train.progress=false", "model.hidden_size=8", "model.num_layers=1", f"audio.tta={n}"]))
        out[n] = (train_classifier(root / "train", root / f"run{n}", root / "test", cfg, log=lambda _: None),
                  root / f"run{n}")
    return root, out


def _expected(run: Path, files: list[Path], n: int) -> np.ndarray:
    clf = Classifier.load(run / "model")
    audio = AudioConfig()
    views = [tta_features(read_wav(f, audio.sample_rate)[0], audio, n) for f in files]
    return np.mean([clf.predict_proba([v[k] for v in views]) for k in range(n + 1)], axis=0)  # (N, C)


def test_the_model_records_tta_and_training_is_unchanged_by_it(runs):
    root, out = runs
    assert json.loads((out[3][1] / "model" / "model.json").read_text())["input"]["audio"]["tta"] == 3
    a = Classifier.load(out[0][1] / "model").network_.state_dict()
    b = Classifier.load(out[3][1] / "model").network_.state_dict()
    assert all(np.array_equal(a[k].numpy(), b[k].numpy()) for k in a)


def test_tta_zero_predicts_the_clean_features_exactly(runs):
    root, out = runs
    files = sorted((root / "test").glob("*.wav"))
    rows = predict_classifier(out[0][1], files)
    clean = _expected(out[0][1], files, 0)
    assert [p for _, _, p in rows] == [float(clean[i].max()) for i in range(len(files))]


def test_tta_averages_the_clean_file_and_its_views_everywhere(runs):
    root, out = runs
    files = sorted((root / "test").glob("*.wav"))
    expected = _expected(out[3][1], files, 3)
    assert not np.allclose(expected, _expected(out[3][1], files, 0))  # the views change something
    rows = predict_classifier(out[3][1], files)
    assert np.allclose([p for _, _, p in rows], expected.max(axis=1), rtol=0, atol=1e-12)
    folder = predict_wav_folder(out[3][1], root / "test", warn=lambda _: None)
    assert [(Path(f).name, lab) for f, lab, _ in folder] == [(Path(f).name, lab) for f, lab, _ in rows]
    assert np.allclose([p for _, _, p in folder], expected.max(axis=1), rtol=0, atol=1e-12)
    labels = [str(c) for c in Classifier.load(out[3][1] / "model").classes_]
    truth = [f.name[0] for f in files]
    accuracy = float(np.mean([labels[k] == t for k, t in zip(expected.argmax(axis=1), truth)]))
    assert out[3][0]["accuracy"] == pytest.approx(accuracy)
    assert evaluate_classifier(out[3][1], root / "test", label_pattern="^(\\d)_")["accuracy"] == pytest.approx(accuracy)

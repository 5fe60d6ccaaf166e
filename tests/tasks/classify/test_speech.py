"""SpeechClassifier: `rnnkit classify train` on recordings, as one Python object."""
from __future__ import annotations

import shutil
import warnings

import numpy as np
import pytest
from scipy.io import wavfile

from rnnkit.datasets import dataset_path
from rnnkit.errors import CheckpointError, ConfigError, DataError
from rnnkit.tasks.classify import Classifier, SpeechClassifier
from rnnkit.tasks.classify.pipeline import train_classifier
from rnnkit.training.config import load_config
from rnnkit.tasks.classify.config import ClassifyConfig

PATTERNS = {"data.label_pattern": r"^(\d)_", "data.group_pattern": r"^\d_(.+)\.wav$"}
TINY = {**PATTERNS, "train.epochs": 2, "train.max_steps": 6, "train.progress": False,
        "model.hidden_size": 8, "model.num_layers": 1}


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """Three digits, 16 recordings each, from the bundled synthetic spoken digits."""
    root = tmp_path_factory.mktemp("digits")
    source = dataset_path("speech", "spoken_digits_synth")
    for digit in "012":
        for path in sorted(source.glob(f"{digit}_*.wav"))[:16]:
            shutil.copy(path, root / path.name)
    return root


@pytest.fixture(scope="module")
def fitted(folder):
    return SpeechClassifier(TINY).fit(folder)


def _files(folder):
    return sorted(folder.glob("*.wav"))


def test_fit_on_a_folder_is_the_command_trained_on_it(folder, fitted, tmp_path):
    cfg = load_config(ClassifyConfig, named=TINY)
    train_classifier(folder, tmp_path / "run", test_path=folder, config=cfg, log=lambda line: None)
    cli = SpeechClassifier.load(tmp_path / "run")  # a run folder of the command: its model/
    files = _files(folder)
    assert list(fitted.classes_) == ["0", "1", "2"] and list(cli.classes_) == ["0", "1", "2"]
    assert np.array_equal(fitted.predict_proba(files), cli.predict_proba(files))


def test_recordings_as_paths_and_labels_or_as_samples(folder, fitted):
    files = _files(folder)  # the folder's own order
    labels = [f.name[0] for f in files]
    groups = [f.name[2:-4] for f in files]
    again = SpeechClassifier(TINY).fit(files, labels, groups=groups)
    assert np.array_equal(again.predict_proba(files), fitted.predict_proba(files))
    pairs = [wavfile.read(f) for f in files[:8]]  # (rate, int16 samples), as scipy reads them
    assert {rate for rate, _ in pairs} == {8000, 16000}  # some are resampled to the model's 8 kHz
    assert np.array_equal(fitted.predict_proba(pairs), fitted.predict_proba(files[:8]))
    at_rate = [(f, x) for f, (rate, x) in zip(files[:8], pairs) if rate == fitted.audio_.sample_rate]
    samples = [x for _, x in at_rate]  # bare arrays: at the model's rate
    assert samples[0].dtype == np.int16
    assert np.array_equal(fitted.predict_proba(samples), fitted.predict_proba([f for f, _ in at_rate]))
    floats = [x / 32768.0 for x in samples]
    np.testing.assert_allclose(fitted.predict_proba(floats), fitted.predict_proba(samples), rtol=1e-5)
    stereo = [np.stack([x, x], axis=1) for x in samples]  # (N, 2): mixed, as a stereo file is
    assert np.array_equal(fitted.predict_proba(stereo), fitted.predict_proba(samples))


def test_integer_labels_come_back_as_integers(folder):
    files = _files(folder)
    y = np.array([int(f.name[0]) for f in files])
    sc = SpeechClassifier(TINY).fit(files, y)
    assert sc.classes_.dtype.kind == "i" and set(sc.predict(files[:4]).tolist()) <= {0, 1, 2}
    assert 0.0 <= sc.score(files, y) <= 1.0
    np.testing.assert_allclose(sc.predict_proba(files).sum(axis=1), 1.0, rtol=1e-6)


def test_numpy_settings_are_read_and_saved_as_numbers(folder, tmp_path):
    sc = SpeechClassifier({**TINY, "train.max_steps": np.int64(4)}).fit(folder)
    sc.save(tmp_path / "m")
    assert SpeechClassifier.load(tmp_path / "m").settings["train.max_steps"] == 4


def test_save_load_round_trip_is_exact(fitted, folder, tmp_path):
    fitted.save(tmp_path / "m")
    back = SpeechClassifier.load(tmp_path / "m")
    files = _files(folder)
    assert back.get_params() == fitted.get_params()
    assert np.array_equal(back.predict_proba(files), fitted.predict_proba(files))
    assert back.audio_ == fitted.audio_


def test_a_classifier_of_series_is_not_loaded_as_speech(tmp_path):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(12, 1, 20)), np.arange(12) % 2
    Classifier(hidden_size=4, num_layers=1, min_steps=2, max_steps=2, partner=None).fit(X, y).save(tmp_path / "ts")
    with pytest.raises(CheckpointError, match="a classifier of series .* Classifier.load"):
        SpeechClassifier.load(tmp_path / "ts")


def test_augmentation_validation_and_test_time_views(folder):
    files = _files(folder)
    settings = {**TINY, "data.augment": True, "data.val_fraction": 0.25, "audio.tta": 2}
    sc = SpeechClassifier(settings).fit(folder)
    assert sc.classifier_.history_ and "val_loss" in sc.classifier_.history_[0]
    proba = sc.predict_proba(files[:3])
    assert proba.shape == (3, 3)
    plain = SpeechClassifier({**settings, "audio.tta": 0}).fit(folder)  # the same fit, one view
    assert not np.array_equal(plain.predict_proba(files[:3]), proba)


@pytest.mark.parametrize("make, message", [
    (lambda f: (str(f / "0_x.wav"),), "X: one path"),
    (lambda f: (np.zeros(800, np.float32),), "X: expected a list of recordings"),
    (lambda f: ([], None), "X: holds no recordings"),
    (lambda f: (sorted(f.glob("*.wav"))[:4], ["0", "1"]), "y: 2 labels for 4 recordings"),
    (lambda f: (sorted(f.glob("*.wav"))[:4],), "y: labels are needed"),
    (lambda f: (f, ["0"]), "a folder gives its own labels"),
    (lambda f: ([np.array([0.1, np.nan, 0.2] * 400)], ["0"]), r"X\[0\]: sample 1 is NaN"),
    (lambda f: ([np.zeros((10, 2, 2))], ["0"]), r"X\[0\]: expected a WAV path, an array of samples"),
    (lambda f: ([(5, np.zeros(100))], ["0"]), r"X\[0\]: a sample rate of 5 Hz"),
    (lambda f: ([np.array([], np.float32)], ["0"]), r"X\[0\]: holds no samples"),
    (lambda f: (sorted(f.glob("0_*.wav"))[:3], ["0", "0", "0"]), "at least 2 classes"),
    (lambda f: ([f / "missing.wav"], ["0"]), "missing.wav: no such WAV file"),
])
def test_bad_input_is_one_line(folder, make, message):
    args = make(folder)
    with pytest.raises(DataError, match=message) as err:
        SpeechClassifier(TINY).fit(*args)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("settings, message", [
    ({"train.epoch": 2}, "unknown config key 'train.epoch'"),
    ({"audio.n_mels": "many"}, "audio.n_mels"),
    ([("train.epochs", 2)], "settings: expected a mapping"),
])
def test_bad_settings_are_one_line_at_fit(folder, settings, message):
    with pytest.raises(ConfigError, match=message):
        SpeechClassifier(settings).fit(folder)


def test_predict_before_fit_and_a_folder_to_predict(fitted, folder):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        SpeechClassifier().predict(["x.wav"])
    with pytest.raises(DataError, match="a folder .* give a list of recordings"):
        fitted.predict(folder)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert fitted.predict(_files(folder)[:2]).shape == (2,)


def test_group_batches_takes_the_groups_given_with_a_list(folder):
    files = _files(folder)
    labels, speakers = [f.name[0] for f in files], [f.name[2:-4] for f in files]
    settings = {**TINY, "data.group_batches": True}
    sc = SpeechClassifier(settings).fit(files, labels, groups=speakers)  # no data.group_pattern needed
    assert sc.classifier_.group_batches and sc.predict_proba(files[:2]).shape == (2, 3)
    with pytest.raises(DataError, match="^groups: data.group_batches puts one group per training batch"):
        SpeechClassifier(settings).fit(files, labels)
    with pytest.raises(ConfigError, match="data.group_batches needs data.group_pattern"):
        SpeechClassifier({**settings, "data.group_pattern": None}).fit(folder)  # a folder: as the command

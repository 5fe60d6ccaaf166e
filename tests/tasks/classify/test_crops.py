"""Window slicing (`Classifier(crop=...)`): crop lengths, random training windows, the
deterministic crop-averaged prediction, and the option through get_params/clone/save/load."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.base import clone

from rnnkit.errors import ConfigError
from rnnkit.tasks.classify import ChanceLevelWarning, Classifier
from rnnkit.tasks.classify import estimator as estimator_module
from rnnkit.tasks.classify.crops import VIEWS, crop_length, crop_starts, random_crop

from tests.tasks.classify.test_estimator import TINY, ramps


def test_crop_length_is_the_rounded_fraction_of_each_length():
    assert crop_length(100, 0.9) == 90
    assert crop_length(7, 0.9) == 6
    assert crop_length(1, 0.5) == 1 and crop_length(3, 0.1) == 1
    assert crop_length(40, 1.0) == 40


def test_random_crop_is_a_contiguous_window_at_varying_starts():
    x = np.arange(50, dtype=np.float32).reshape(25, 2)  # (T, C)
    rng = np.random.default_rng(0)
    starts = set()
    for _ in range(60):
        w = random_crop(x, 0.8, rng)
        assert w.shape == (20, 2)
        start = int(w[0, 0]) // 2
        np.testing.assert_array_equal(w, x[start:start + 20])
        starts.add(start)
    assert starts == set(range(6))  # every start 0..T-L is drawn


def test_crop_starts_are_evenly_spaced_from_first_to_last():
    assert crop_starts(100, 0.9).tolist() == [0, 2, 5, 8, 10]
    assert crop_starts(10, 1.0).tolist() == [0] * VIEWS


@pytest.fixture(scope="module")
def cropped():
    X, y = ramps(24, length=30, channels=2)
    series = [x[:, : 3 + (5 * i) % 28].T for i, x in enumerate(X)]  # (T_i, 2), T_i in 3..30
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ChanceLevelWarning)
        clf = Classifier(**{**TINY, "min_steps": 5, "max_steps": 5}, crop=0.7, crop_min_length=1).fit(series, y)
    return clf, series


def test_prediction_is_the_mean_over_the_evenly_spaced_windows(cropped):
    clf, series = cropped
    probs = clf.predict_proba(series)
    whole = clone(clf).set_params(crop=1.0)  # same network, predicting on what it is given
    whole.__dict__.update({k: v for k, v in clf.__dict__.items() if k.endswith("_")})
    for s, p in zip(series, probs):
        length = crop_length(len(s), 0.7)
        windows = [s[b:b + length] for b in crop_starts(len(s), 0.7)]
        np.testing.assert_allclose(p, whole.predict_proba(windows).mean(axis=0), rtol=0, atol=1e-6)
    assert not np.allclose(probs, whole.predict_proba(series), atol=1e-4)


def test_cropped_prediction_is_deterministic_and_batch_independent(cropped):
    clf, series = cropped
    together = clf.predict_proba(series, batch_size=7)
    np.testing.assert_array_equal(together, clf.predict_proba(series, batch_size=7))
    alone = np.concatenate([clf.predict_proba([s]) for s in series])
    np.testing.assert_allclose(together, alone, rtol=0, atol=1e-6)


def test_training_draws_are_windows_of_crop_length(monkeypatch):
    X, y = ramps(16, length=20)
    seen = []

    def spy(x, crop, rng):
        w = random_crop(x, crop, rng)
        seen.append((len(x), len(w)))
        return w

    monkeypatch.setattr(estimator_module, "random_crop", spy)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ChanceLevelWarning)
        Classifier(**{**TINY, "min_steps": 3, "max_steps": 3}, crop=0.5, crop_min_length=20).fit(X, y)
    assert len(seen) == 3 * 16 and set(seen) == {(20, 10)}


def test_crop_goes_through_get_params_clone_and_save_load(cropped, tmp_path):
    clf, series = cropped
    assert clf.get_params()["crop"] == 0.7 and clone(clf).crop == 0.7
    clf.save(tmp_path / "m")
    back = Classifier.load(tmp_path / "m")
    assert back.crop == 0.7
    np.testing.assert_array_equal(back.predict_proba(series), clf.predict_proba(series))


@pytest.mark.parametrize("bad", [0.0, -0.5, 1.5])
def test_crop_outside_zero_one_is_refused(bad):
    X, y = ramps(8)
    with pytest.raises(ConfigError, match="crop must be in"):
        Classifier(**TINY, crop=bad).fit(X, y)

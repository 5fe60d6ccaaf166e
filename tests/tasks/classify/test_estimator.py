"""`Classifier`: fit/predict/predict_proba/score/save/load on NumPy arrays."""
from __future__ import annotations

import numpy as np
import pytest

from rnnkit.tasks.classify import Classifier

# partner=None: these tests are about the network; the default tree partner: test_partner.py, test_sklearn.py
TINY = dict(hidden_size=8, num_layers=1, min_steps=40, max_steps=40, batch_size=16, lr=2e-2, dropout=0.0,
            partner=None)


def ramps(n, length=16, channels=1, seed=0):
    """(n, channels, length) float64: class 1 rises, class 0 falls, with noise."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    trend = np.where(y[:, None] == 1, 1.0, -1.0) * np.linspace(-1, 1, length)  # (n, length)
    X = trend[:, None, :] * np.arange(1, channels + 1)[None, :, None] + 0.2 * rng.normal(size=(n, channels, length))
    return X, y


@pytest.fixture(scope="module")
def fitted():
    X, y = ramps(48)
    labels = np.array(["fall", "rise"])[y]
    return Classifier(**TINY).fit(X, labels), X, labels


def test_fit_returns_self_and_learns_a_learnable_task(fitted):
    clf, X, labels = fitted
    assert isinstance(clf, Classifier)
    assert list(clf.classes_) == ["fall", "rise"] and clf.n_features_in_ == 1
    Xt, yt = ramps(20, seed=1)
    assert clf.score(Xt, np.array(["fall", "rise"])[yt]) >= 0.9
    assert not clf.chance_level_


def test_predict_proba_on_float64_rows_sum_to_one_in_classes_order(fitted):
    clf, X, labels = fitted
    assert X.dtype == np.float64
    probs = clf.predict_proba(X)
    assert probs.shape == (len(X), 2) and probs.dtype == np.float64
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-12)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[probs.argmax(axis=1)])
    np.testing.assert_allclose(clf.predict_proba(X.astype(np.float32)), probs, atol=1e-6)


def test_integer_labels_and_their_order():
    X, y = ramps(32)
    labels = np.where(y == 1, 10, 2)  # 2 sorts before 10 as a number
    clf = Classifier(**{**TINY, "min_steps": 5, "max_steps": 5}).fit(X, labels)
    assert clf.classes_.dtype.kind == "i" and list(clf.classes_) == [2, 10]
    assert set(clf.predict(X).tolist()) <= {2, 10}


def test_save_load_round_trip_is_exact(fitted, tmp_path):
    clf, X, labels = fitted
    clf.save(tmp_path / "m")
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["model.json", "model.safetensors"]
    back = Classifier.load(tmp_path / "m")
    np.testing.assert_array_equal(back.predict_proba(X), clf.predict_proba(X))
    np.testing.assert_array_equal(back.classes_, clf.classes_)
    assert back.classes_.dtype == clf.classes_.dtype
    assert back.get_params() == clf.get_params()
    assert back.n_features_in_ == clf.n_features_in_


def test_lists_of_series_of_any_length_multivariate():
    X, y = ramps(32, length=20, channels=2)
    series = [x[:, : 8 + i % 12].T for i, x in enumerate(X)]  # (T_i, 2), T_i in 8..19
    clf = Classifier(**TINY).fit(series, y)
    assert clf.n_features_in_ == 2 and clf.normalizer_.mode == "channel"
    assert clf.predict_proba(series).shape == (32, 2)
    univariate = [x[0, : 8 + i % 12] for i, x in enumerate(ramps(32)[0])]  # 1-D arrays
    clf1 = Classifier(**{**TINY, "min_steps": 3, "max_steps": 3}).fit(univariate, y)
    assert clf1.n_features_in_ == 1 and clf1.normalizer_.mode == "series"


def test_a_run_folder_written_before_the_estimator_loads_as_one(tmp_path):
    """model.json of earlier runs: no "network", "estimator" or "input.normalize"; the
    network standardises its inputs itself, so the estimator adds nothing."""
    import torch

    from rnnkit.tasks.classify.pipeline import load_classifier
    from tests.export import helpers as h

    run = h.classifier_dir(tmp_path / "run")
    clf = Classifier.load(run)
    assert list(clf.classes_) == ["a", "b", "c", "d"] and clf.n_features_in_ == 3
    assert clf.normalizer_.mode == "none"
    series = [np.random.default_rng(i).normal(size=(5 + i, 3)) for i in range(4)]
    network, _ = load_classifier(run)
    with torch.no_grad():
        direct = [torch.softmax(network(torch.tensor(s[None], dtype=torch.float32), torch.tensor([len(s)])), -1)
                  for s in series]
    np.testing.assert_allclose(clf.predict_proba(series), torch.cat(direct).numpy(), atol=1e-6)

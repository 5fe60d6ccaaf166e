"""`Classifier(partner="trees")`: the quantile features, the forest as arrays, the weight chosen
inside fit, save/load, older model folders, and the fit without a partner left as it was."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from safetensors.torch import save as st_save
from sklearn.base import clone
from sklearn.ensemble import ExtraTreesClassifier

from rnnkit.errors import CheckpointError, ConfigError
from rnnkit.tasks.classify import Classifier
from rnnkit.tasks.classify import partner as partner_mod
from rnnkit.tasks.classify.partner import (LEVELS, PARTNER_FILE, W_GRID, choose_weight, fit_forest,
                                           quantile_features)

pytestmark = pytest.mark.filterwarnings("ignore::rnnkit.tasks.classify.ChanceLevelWarning")  # few steps

TINY = dict(model="lstm_fcn", filters=(4, 4), kernels=(3, 3), dilations=(1, 2), hidden_size=4, num_layers=1,
            min_steps=3, max_steps=3, batch_size=8, dropout=0.0)


def spread_data(n=40, seed=0):
    """Two classes that differ only in the distribution of their values (Gaussian against
    cubed Gaussian: after z-normalisation the same mean and scale, other quantiles), in a
    random order, of lengths 20-40 (variable-length input)."""
    rng = np.random.default_rng(seed)
    X, y = [], []
    for i in range(n):
        s = rng.normal(size=(int(rng.integers(20, 41)), 1))
        if i % 2:
            s = s ** 3
        X.append(s.astype(np.float32))
        y.append(i % 2)
    return X, np.array(y)


def numpy_features(s: np.ndarray, levels: int) -> np.ndarray:
    s = s.astype(np.float64)
    q = np.arange(levels) / (levels - 1)
    q_x = np.quantile(s, q, axis=0).T  # (C, K)
    q_d = np.quantile(np.diff(s, axis=0), q, axis=0).T if len(s) > 1 else np.zeros_like(q_x)
    return np.concatenate([q_x, q_d]).ravel()


@pytest.mark.parametrize("levels", [LEVELS, 4])
def test_quantile_features_are_numpys_on_each_series_alone(levels, monkeypatch):
    rng = np.random.default_rng(1)
    lengths = [1, 2, 3, 7, 50, 13, 1, 29]  # padded together: padding must not enter any quantile
    seqs = [(rng.normal(size=(T, 3)) * 10 + 100).astype(np.float32) for T in lengths]
    want = np.stack([numpy_features(s, levels) for s in seqs])
    np.testing.assert_allclose(quantile_features(seqs, levels), want, rtol=0, atol=1e-10)
    monkeypatch.setattr(partner_mod, "_CHUNK", 40)  # several chunks of series: the same features
    np.testing.assert_allclose(quantile_features(seqs, levels), want, rtol=0, atol=1e-10)


def test_the_forest_walk_is_scikit_learns_predict_proba():
    rng = np.random.default_rng(2)
    F, y = rng.normal(size=(60, 8)), rng.integers(0, 3, 60)
    forest = fit_forest(F, y, 4, seed=5)  # class 3 absent from the fit: probability 0
    sk = ExtraTreesClassifier(n_estimators=len(forest.roots), random_state=5, n_jobs=1).fit(F.astype(np.float32), y)
    new = rng.normal(size=(25, 8))
    p = forest.predict_proba(new)
    np.testing.assert_array_equal(p[:, :3], sk.predict_proba(new))
    assert np.all(p[:, 3] == 0)


def test_choose_weight_follows_the_better_component_and_ties_go_to_the_network():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 3, 30)
    good = np.full((30, 3), 0.1)
    good[np.arange(30), y] = 0.8
    noise = rng.dirichlet(np.ones(3), size=30)
    assert choose_weight(good, noise, y)[0] == 1.0
    w, losses = choose_weight(np.full((30, 3), 1 / 3), good, y)
    assert w == min(W_GRID) == 0.5 and len(losses) == len(W_GRID)
    assert choose_weight(good, good, y)[0] == 1.0  # every w the same loss


def test_weight_below_one_where_the_trees_see_what_the_network_does_not():
    X, y = spread_data()
    clf = Classifier(**TINY, partner="trees").fit(X, y)  # 3 steps: the network learned nothing
    assert clf.partner_source_ == "held-out fit"
    assert clf.partner_weight_ < 1.0
    p_net, p_trees = clf._component_proba(X)
    assert (p_trees.argmax(1) == y).mean() == 1.0
    w = clf.partner_weight_
    np.testing.assert_allclose(clf.predict_proba(X), w * p_net + (1 - w) * p_trees, atol=1e-12)


def test_weight_one_where_the_trees_see_noise(monkeypatch):
    rng = np.random.default_rng(4)
    X = [(rng.normal(size=(16, 1)) + 4.0 * (i % 2)).astype(np.float32) for i in range(40)]
    y = np.arange(40) % 2  # the level tells the classes apart; the network sees it (normalize="none")
    noise = np.random.default_rng(5)
    monkeypatch.setattr(partner_mod, "quantile_features",
                        lambda seqs, levels=LEVELS: noise.normal(size=(len(seqs), 2 * LEVELS)))
    clf = Classifier(**{**TINY, "min_steps": 60, "max_steps": 60}, normalize="none", partner="trees").fit(X, y)
    assert clf.partner_weight_ == 1.0
    assert clf.partner_losses_[-1] < clf.partner_losses_[0]


def test_the_network_is_the_fit_without_a_partner():
    X, y = spread_data()
    alone = Classifier(**TINY, partner=None).fit(X, y)
    mixed = Classifier(**TINY, partner="trees").fit(X, y)
    assert Classifier().partner == "trees"  # the default
    np.testing.assert_array_equal(mixed._component_proba(X)[0], alone.predict_proba(X))
    assert alone.partner_ is None and alone._component_proba(X)[1] is None
    for a, b in zip(alone.network_.state_dict().values(), mixed.network_.state_dict().values()):
        assert torch.equal(a, b)


def test_with_a_validation_split_the_networks_held_out_series_choose():
    X, y = spread_data()
    clf = Classifier(**TINY, partner="trees", validation_fraction=0.25).fit(X, y)
    assert clf.partner_source_ == "validation" and 0.0 <= clf.partner_weight_ < 1.0


def test_no_series_to_hold_out_falls_back_to_the_network():
    X, y = spread_data()
    clf = Classifier(**TINY, partner="trees", partner_fraction=0.0).fit(X, y)
    assert clf.partner_source_ == "none" and clf.partner_weight_ == 1.0
    np.testing.assert_array_equal(clf.predict_proba(X), clf._component_proba(X)[0])


def test_save_load_is_exact_and_survives_clone(tmp_path):
    X, y = spread_data()
    clf = Classifier(**TINY, partner="trees").fit(X, y)
    clf.save(tmp_path / "m")
    back = Classifier.load(tmp_path / "m")
    assert back.partner == "trees" and back.partner_weight_ == clf.partner_weight_
    np.testing.assert_array_equal(back.predict_proba(X), clf.predict_proba(X))
    assert clone(back).partner == "trees"


def test_models_saved_before_the_partner_load_without_one(tmp_path):
    X, y = spread_data()
    clf = Classifier(**TINY, partner=None).fit(X, y)
    clf.save(tmp_path / "m")
    path = tmp_path / "m" / "model.json"
    info = json.loads(path.read_text())
    assert "partner" not in info
    for key in ("partner", "partner_fraction"):
        info["estimator"].pop(key)
    path.write_text(json.dumps(info))
    back = Classifier.load(tmp_path / "m")
    assert back.partner is None and back.partner_ is None
    np.testing.assert_array_equal(back.predict_proba(X), clf.predict_proba(X))


def _tamper(folder, name, fn):
    path = folder / PARTNER_FILE
    from rnnkit.training.checkpoint import read_safetensors

    t = read_safetensors(path)
    t[name] = fn(t[name])
    path.write_bytes(st_save(t))


@pytest.mark.parametrize("name, fn, message", [
    ("left", lambda a: torch.where(a > 0, torch.zeros_like(a), a), "backwards"),  # a cycle: the walk would not end
    ("feature", lambda a: a + 10_000, "outside"),
    ("value", lambda a: a[:, :1].contiguous(), "inconsistent"),
    ("roots", lambda a: a.to(torch.float64), "dtype"),
])
def test_a_tampered_partner_file_is_one_line(tmp_path, name, fn, message):
    X, y = spread_data()
    Classifier(**TINY, partner="trees").fit(X, y).save(tmp_path / "m")
    _tamper(tmp_path / "m", name, fn)
    with pytest.raises(CheckpointError, match=message) as err:
        Classifier.load(tmp_path / "m")
    assert "\n" not in str(err.value)


def test_a_missing_partner_file_or_bad_weight_is_one_line(tmp_path):
    X, y = spread_data()
    Classifier(**TINY, partner="trees").fit(X, y).save(tmp_path / "m")
    path = tmp_path / "m" / "model.json"
    info = json.loads(path.read_text())
    path.write_text(json.dumps({**info, "partner": {**info["partner"], "weight": 1.5}}))
    with pytest.raises(CheckpointError, match="weight"):
        Classifier.load(tmp_path / "m")
    path.write_text(json.dumps(info))
    (tmp_path / "m" / PARTNER_FILE).unlink()
    with pytest.raises(CheckpointError, match="missing"):
        Classifier.load(tmp_path / "m")


@pytest.mark.parametrize("params, message", [({"partner": "forest"}, "partner"),
                                             ({"partner": "trees", "partner_fraction": 1.0}, "partner_fraction")])
def test_bad_partner_arguments_are_one_line(params, message):
    X, y = spread_data()
    with pytest.raises(ConfigError, match=message):
        Classifier(**TINY, **params).fit(X, y)


def _partner_checks():
    from sklearn.utils.estimator_checks import parametrize_with_checks

    from tests.tasks.classify.test_sklearn import EXPECTED_FAILURES

    return parametrize_with_checks([Classifier(hidden_size=4, num_layers=1, min_steps=2, max_steps=2, lr=1e-2,
                                               device="cpu", partner=None)],
                                   expected_failed_checks=lambda est: EXPECTED_FAILURES)


@_partner_checks()
def test_scikit_learn_estimator_checks_without_the_partner(estimator, check):  # test_sklearn.py: the default
    check(estimator)

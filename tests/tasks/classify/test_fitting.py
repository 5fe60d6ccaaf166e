"""Training mechanics of `Classifier`: budget, stratified validation, early stopping with the
best weights, the chance-level warning, normalisation, and variable-length batches."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch

from rnnkit.data.sequences import collate_packed
from rnnkit.tasks.classify import ChanceLevelWarning, Classifier
from rnnkit.tasks.classify.arrays import Normalizer
from rnnkit.tasks.classify.fitting import chance_loss, step_budget, stratified_split

from tests.tasks.classify.test_estimator import TINY, ramps


def test_step_budget_scales_with_the_data_and_is_clipped():
    assert step_budget(100, 32, 10, 5, 1000) == math.ceil(10 * 100 / 32)
    assert step_budget(10, 32, 10, 50, 1000) == 50
    assert step_budget(10_000, 32, 10, 50, 1000) == 1000


def test_work_budget_raises_the_steps_where_one_step_is_cheap():
    # 100 series of 20 steps, batch 32: 32 * 20 = 640 steps of series per optimizer step
    assert step_budget(100, 32, 10, 5, 1000, work=64_000, mean_length=20) == 100
    assert step_budget(100, 32, 10, 5, 1000, work=640, mean_length=20) == math.ceil(10 * 100 / 32)  # never fewer
    assert step_budget(10, 32, 10, 5, 1000, work=5_000, mean_length=50) == 10  # batch = the 10 series
    assert step_budget(100, 32, 10, 5, 1000, work=1e9, mean_length=20) == 1000  # still clipped
    assert step_budget(100, 32, 10, 5, 1000, work=None, mean_length=20) == step_budget(100, 32, 10, 5, 1000)


def test_classifier_work_budget_sets_the_step_count_and_is_checked():
    X, y = ramps(16, length=10)  # batch 16 * 10 steps = 160 per optimizer step
    params = {**TINY, "min_steps": 1, "max_steps": 50, "epochs": 1}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ChanceLevelWarning)
        assert Classifier(**params).fit(X, y).n_steps_ == 1
        clf = Classifier(**params, work_budget=160 * 7).fit(X, y)
    assert clf.n_steps_ == 7 and clf.get_params()["work_budget"] == 1120
    from rnnkit.errors import ConfigError
    with pytest.raises(ConfigError, match="work_budget must be > 0"):
        Classifier(**params, work_budget=0).fit(X, y)


def test_stratified_split_keeps_each_class_in_both_parts():
    targets = np.array([0] * 10 + [1] * 5 + [2] * 1)
    train, val = stratified_split(targets, 0.2, seed=3)
    assert sorted(np.concatenate([train, val]).tolist()) == list(range(16)) and not set(train) & set(val)
    assert np.bincount(targets[val], minlength=3).tolist() == [2, 1, 0]  # a 1-series class stays in train
    again = stratified_split(targets, 0.2, seed=3)
    assert np.array_equal(again[1], val)
    assert len(stratified_split(targets, 0.0, seed=3)[1]) == 0


def test_budget_is_the_number_of_steps_run_without_validation():
    X, y = ramps(40)
    clf = Classifier(**{**TINY, "min_steps": 1, "max_steps": 100, "epochs": 3.0, "batch_size": 16},
                     validation_fraction=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ChanceLevelWarning)
        clf.fit(X, y)
    assert clf.n_steps_ == math.ceil(3.0 * 40 / 16) and clf.stopped_reason_ == "max_steps"


def _val_loss(clf, X, y, val_idx):
    seqs = clf.normalizer_([X[i].T.astype(np.float32) for i in val_idx])
    batch = collate_packed(list(zip(seqs, y[val_idx].tolist())))
    with torch.no_grad():
        return float(clf.network_.eval().compute_loss(batch))


def test_early_stopping_keeps_the_best_validation_weights():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(48, 1, 12))
    y = rng.integers(0, 2, 48)  # random labels: the validation loss soon rises, training stops
    clf = Classifier(**{**TINY, "hidden_size": 16, "min_steps": 300, "max_steps": 300, "lr": 3e-2},
                     validation_fraction=0.25, patience=30)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ChanceLevelWarning)
        clf.fit(X, y)
    assert clf.stopped_reason_ == "early_stopping" and clf.n_steps_ < 300
    val_losses = [row["val_loss"] for row in clf.history_]
    assert clf.best_epoch_ == int(np.argmin(val_losses)) + 1 < len(val_losses)
    _, val_idx = stratified_split(y, 0.25, seed=0)
    assert _val_loss(clf, X, y, val_idx) == pytest.approx(min(val_losses), rel=1e-5)


def test_chance_level_warning_when_nothing_can_be_learned_and_none_when_it_can():
    rng = np.random.default_rng(0)
    X = np.repeat(rng.normal(size=(1, 1, 12)), 30, axis=0)  # every series the same:
    y = rng.integers(0, 3, 30)                               # the labels cannot be learned
    with pytest.warns(ChanceLevelWarning, match="chance level") as record:
        clf = Classifier(**{**TINY, "min_steps": 30, "max_steps": 30}, validation_fraction=0.0).fit(X, y)
    assert clf.chance_level_ and "\n" not in str(record[0].message)
    assert f"{chance_loss(y, 3, False):.3f} for 3 classes" in str(record[0].message)

    X, y = ramps(30)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ChanceLevelWarning)
        clf = Classifier(**{**TINY, "min_steps": 30, "max_steps": 30}, validation_fraction=0.0).fit(X, y)
    assert not clf.chance_level_


def test_normalisations():
    rng = np.random.default_rng(0)
    seqs = [rng.normal(3.0, 2.0, size=(int(t), 2)) for t in rng.integers(5, 30, 20)]
    norm = Normalizer.fit("series", seqs)
    for z in norm(seqs):
        np.testing.assert_allclose(z.mean(axis=0), 0, atol=1e-5)
        np.testing.assert_allclose(z.std(axis=0), 1, atol=1e-4)
    channel = Normalizer.fit("auto", seqs)
    assert channel.mode == "channel"
    z = np.concatenate(channel(seqs))
    np.testing.assert_allclose(z.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(z.std(axis=0), 1, atol=1e-4)
    assert Normalizer.fit("auto", [s[:, :1] for s in seqs]).mode == "series"
    constant = Normalizer.fit("series", [np.ones((4, 1))])([np.ones((4, 1))])[0]
    assert np.all(constant == 0)


@pytest.mark.parametrize("channels", [1, 2])  # "auto": series (in the data), channel (in the network)
def test_series_in_tiny_or_huge_units_are_classified_as_in_units_of_one(channels):
    """The std floors are relative: in units of 1e-12 the absolute 1e-8 floors flattened every
    series to about 0 and the classifier learned nothing."""
    X, y = ramps(24, channels=channels)
    kw = {**TINY, "min_steps": 20, "max_steps": 20, "partner": None}
    ref = Classifier(**kw).fit(X, y).predict_proba(X)
    for unit in (1e-12, 1e20):
        np.testing.assert_allclose(Classifier(**kw).fit(X * unit, y).predict_proba(X * unit), ref, atol=1e-4)


@pytest.mark.parametrize("pooling", ["last", "mean", "attention"])
def test_a_series_in_a_batch_of_other_lengths_is_predicted_as_alone(pooling):
    X, y = ramps(24, length=30, channels=2)
    series = [x[:, : 3 + (5 * i) % 28].T for i, x in enumerate(X)]  # (T_i, 2), T_i in 3..30, all differ
    clf = Classifier(**{**TINY, "min_steps": 5, "max_steps": 5, "pooling": pooling, "num_layers": 2})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ChanceLevelWarning)
        clf.fit(series, y)
    together = clf.predict_proba(series, batch_size=24)
    alone = np.concatenate([clf.predict_proba([s]) for s in series])
    np.testing.assert_allclose(together, alone, rtol=0, atol=1e-6)
    assert len({s.shape[0] for s in series}) > 10


def test_same_random_state_same_model_and_jitter_draws_fresh_noise():
    X, y = ramps(24)
    params = {**TINY, "min_steps": 6, "max_steps": 6}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ChanceLevelWarning)
        a = Classifier(**params).fit(X, y).predict_proba(X)
        b = Classifier(**params).fit(X, y).predict_proba(X)
        jittered = Classifier(**params, jitter=0.1).fit(X, y).predict_proba(X)
        other_seed = Classifier(**params, random_state=1).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, jittered) and not np.allclose(a, other_seed)


def test_early_stopping_on_accuracy_keeps_the_most_accurate_epoch():
    rng = np.random.default_rng(2)
    X, y = ramps(48, length=12)
    y = np.where(rng.random(48) < 0.3, 1 - y, y)  # 30 % of the labels flipped: accuracy wanders
    clf = Classifier(**{**TINY, "min_steps": 120, "max_steps": 120}, validation_fraction=0.25,
                     early_stopping="accuracy", patience=40)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ChanceLevelWarning)
        clf.fit(X, y)
    accuracies = [row["val_accuracy"] for row in clf.history_]
    best = int(np.argmax(accuracies))  # the first of the most accurate epochs ...
    losses = [row["val_loss"] for row in clf.history_]
    ties = [i for i, a in enumerate(accuracies) if a == accuracies[best]]
    best = min(ties, key=lambda i: (losses[i], i))  # ... or, among ties, the lowest loss
    assert clf.best_epoch_ == best + 1
    _, val_idx = stratified_split(y, 0.25, seed=0)
    assert clf.score(X[val_idx], y[val_idx]) == pytest.approx(accuracies[best])
    assert _val_loss(clf, X, y, val_idx) == pytest.approx(losses[best], rel=1e-5)
    noise = np.random.default_rng(3).normal(size=(48, 1, 12))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ChanceLevelWarning)
        clf = Classifier(**{**TINY, "min_steps": 300, "max_steps": 300}, validation_fraction=0.25,
                         early_stopping="accuracy", patience=15).fit(noise, rng.integers(0, 2, 48))
    assert clf.stopped_reason_ == "early_stopping" and clf.n_steps_ < 300

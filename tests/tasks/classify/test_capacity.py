"""`Classifier(filters="auto", epochs="auto")`, the defaults: FCN's widths (128, 256, 128) and 100
epochs for a set of at least 128 series, the network's own widths and 50 epochs below; explicit
values are honoured; a model fitted by the rule saves and loads; models saved before it keep
their widths and budget."""
from __future__ import annotations

import json
import re

import numpy as np
import pytest
from sklearn.base import clone

from rnnkit.errors import ConfigError
from rnnkit.tasks.classify import Classifier
from rnnkit.tasks.classify.config import ClassifyConfig
from rnnkit.tasks.classify.fitting import LARGE_EPOCHS, LARGE_FILTERS, LARGE_SET, SMALL_EPOCHS, capacity
from rnnkit.tasks.classify.pipeline import classifier_from_config

pytestmark = pytest.mark.filterwarnings("ignore::rnnkit.tasks.classify.ChanceLevelWarning")  # few steps

# one batch per epoch (batch 256 >= n): steps = ceil(epochs * n / 256), so 25 at n = 127 with
# 50 epochs and 50 at n = 128 with 100
CHEAP = dict(kernels=(3, 3, 3), dilations=(1, 1, 1), hidden_size=4, num_layers=1, bidirectional=False,
             min_steps=1, max_steps=1000, batch_size=256, dropout=0.0, crop=1.0, partner=None)


def series(n, T=6, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 1, T)).astype(np.float32), np.arange(n) % 2


def widths(clf) -> tuple[int, ...]:
    return tuple(conv.out_channels for conv in clf.network_.members[0].convs)


def test_the_rule_and_its_boundary():
    assert (LARGE_SET, LARGE_FILTERS, LARGE_EPOCHS, SMALL_EPOCHS) == (128, (128, 256, 128), 100.0, 50.0)
    assert capacity(127, "auto", "auto") == (None, 50.0)
    assert capacity(128, "auto", "auto") == ((128, 256, 128), 100.0)
    assert capacity(10_000, "auto", "auto") == ((128, 256, 128), 100.0)
    # explicit values, on either side of the boundary, are returned as given
    assert capacity(500, [32, 32], 7) == ((32, 32), 7.0)
    assert capacity(5, (256, 256, 256), 300.0) == ((256, 256, 256), 300.0)
    assert capacity(500, None, 50) == (None, 50.0)


@pytest.mark.parametrize("n, expected_widths, expected_epochs, expected_steps", [
    (LARGE_SET - 1, (64, 128, 64), 50.0, 25),   # the network's own widths
    (LARGE_SET, (128, 256, 128), 100.0, 50),
])
def test_fit_on_each_side_of_the_boundary(n, expected_widths, expected_epochs, expected_steps):
    X, y = series(n)
    clf = Classifier(**CHEAP).fit(X, y)
    assert widths(clf) == expected_widths
    assert clf.epochs_ == expected_epochs and clf.n_steps_ == expected_steps
    assert clf.get_params()["filters"] == "auto" and clf.get_params()["epochs"] == "auto"


def test_below_the_boundary_the_fit_is_the_one_before_the_rule():
    X, y = series(40, T=12)
    auto = Classifier(**CHEAP).fit(X, y)
    before = Classifier(**CHEAP, filters=None, epochs=50.0).fit(X, y)  # the defaults before the rule
    assert auto.n_steps_ == before.n_steps_ == 8  # ceil(50 * 40 / 256)
    for (name, a), (_, b) in zip(auto.network_.state_dict().items(), before.network_.state_dict().items()):
        assert a.dtype == b.dtype and bool((a == b).all()), name
    np.testing.assert_array_equal(auto.predict_proba(X), before.predict_proba(X))


def test_the_rule_counts_the_series_passed_to_fit_not_the_fitting_part():
    X, y = series(LARGE_SET)  # 20 % held out: 102 series fit, but the user passed 128
    clf = Classifier(**{**CHEAP, "max_steps": 1}, validation_fraction=0.2).fit(X, y)
    assert widths(clf) == LARGE_FILTERS and clf.epochs_ == LARGE_EPOCHS


def test_explicit_values_are_honoured_on_a_large_set():
    X, y = series(LARGE_SET)
    clf = Classifier(**CHEAP, filters=(8, 16, 8), epochs=50).fit(X, y)
    assert widths(clf) == (8, 16, 8) and clf.epochs_ == 50.0 and clf.n_steps_ == 25
    own = Classifier(**{**CHEAP, "max_steps": 1}, filters=None).fit(X, y)  # None: the network's own
    assert widths(own) == (64, 128, 64) and own.filters_ is None
    small = Classifier(**{**CHEAP, "max_steps": 1}, filters=[16, 16, 16], epochs=100).fit(*series(20))
    assert widths(small) == (16, 16, 16) and small.epochs_ == 100.0


def test_a_model_fitted_by_the_rule_saves_and_loads(tmp_path):
    X, y = series(LARGE_SET)
    clf = Classifier(**{**CHEAP, "max_steps": 2}).fit(X, y)
    clf.save(tmp_path / "m")
    back = Classifier.load(tmp_path / "m")
    assert widths(back) == LARGE_FILTERS
    assert back.get_params()["filters"] == "auto" and back.get_params()["epochs"] == "auto"
    np.testing.assert_array_equal(back.predict_proba(X), clf.predict_proba(X))


def test_a_model_saved_before_the_rule_keeps_its_widths_and_budget(tmp_path):
    X, y = series(LARGE_SET)
    Classifier(**{**CHEAP, "max_steps": 2}, filters=None, epochs=50.0).fit(X, y).save(tmp_path / "m")
    meta = json.loads((tmp_path / "m" / "model.json").read_text())
    assert meta["estimator"]["filters"] is None and meta["estimator"]["epochs"] == 50.0  # as saved before
    back = Classifier.load(tmp_path / "m")
    assert widths(back) == (64, 128, 64)
    refit = clone(back).set_params(max_steps=1000).fit(X, y)  # refitting keeps the old defaults
    assert widths(refit) == (64, 128, 64) and refit.epochs_ == 50.0 and refit.n_steps_ == 25


def test_the_cli_keeps_its_own_widths_and_epochs():
    clf = classifier_from_config(ClassifyConfig())
    assert clf.filters is None  # [model] filters = []: the network's own (the CLI budget is train.epochs)


@pytest.mark.parametrize("name, value", [("filters", "wide"), ("epochs", "many"), ("epochs", 0)])
def test_bad_values_are_one_line_errors(name, value):
    X, y = series(8)
    with pytest.raises(ConfigError, match=re.escape(name)) as err:
        Classifier(**CHEAP, **{name: value}).fit(X, y)
    assert "\n" not in str(err.value)

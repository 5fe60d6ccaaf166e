"""`Classifier(summary=K)` / the CLI's `model.summary`: the hybrid's order-free summary branch
through the estimator, save/load, older model.json files, and bad values."""
from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.base import clone

from rnnkit.errors import ConfigError
from rnnkit.tasks.classify import Classifier
from rnnkit.tasks.classify.config import ClassifyConfig
from rnnkit.tasks.classify.pipeline import classifier_from_config, default_config
from rnnkit.training.config import apply_overrides, from_dict

pytestmark = pytest.mark.filterwarnings("ignore::rnnkit.tasks.classify.ChanceLevelWarning")  # few steps

TINY = dict(model="lstm_fcn", filters=(4, 4), kernels=(3, 3), dilations=(1, 2), hidden_size=4, num_layers=1,
            min_steps=3, max_steps=3, batch_size=8, dropout=0.0, partner=None)  # the network alone


def levels_data(n=16, seed=0):
    """Two classes that differ in the distribution of their values only (a step up or down at
    a random time), of lengths 20-40: variable-length input through the summary branch."""
    rng = np.random.default_rng(seed)
    X, y = [], []
    for i in range(n):
        T = int(rng.integers(20, 41))
        s = rng.normal(scale=0.1, size=(T, 1))
        s[int(rng.integers(5, T - 5)):] += 1.0 if i % 2 else 3.0
        X.append(s.astype(np.float32))
        y.append(i % 2)
    return X, np.array(y)


def test_summary_reaches_the_network_and_survives_get_params_clone_and_save(tmp_path):
    X, y = levels_data()
    clf = Classifier(**TINY, summary=8).fit(X, y)
    assert clf.network_.summary == 8 and clf.network_.members[0].summary.levels == 8
    assert clf.get_params()["summary"] == 8 and clone(clf).summary == 8
    clf.save(tmp_path / "m")
    back = Classifier.load(tmp_path / "m")
    assert back.summary == 8 and back.network_.members[0].summary is not None
    np.testing.assert_array_equal(back.predict_proba(X), clf.predict_proba(X))


def test_off_is_the_fit_without_the_option():
    X, y = levels_data()
    a = Classifier(**TINY).fit(X, y)
    b = Classifier(**TINY, summary=0).fit(X, y)
    assert a.network_.members[0].summary is None
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    c = Classifier(**TINY, summary=4).fit(X, y)
    assert not np.array_equal(a.predict_proba(X), c.predict_proba(X))


def test_models_saved_before_the_option_load_without_the_branch(tmp_path):
    X, y = levels_data()
    clf = Classifier(**TINY).fit(X, y)
    clf.save(tmp_path / "m")
    path = tmp_path / "m" / "model.json"
    info = json.loads(path.read_text())
    del info["estimator"]["summary"]
    info["model"].pop("summary", None)
    path.write_text(json.dumps(info))
    back = Classifier.load(tmp_path / "m")
    assert back.summary == 0 and back.network_.members[0].summary is None
    np.testing.assert_array_equal(back.predict_proba(X), clf.predict_proba(X))


@pytest.mark.parametrize("bad", [1, -2, 2.5, True, "16"])
def test_a_bad_summary_is_refused_in_one_line(bad):
    X, y = levels_data(8)
    with pytest.raises(ConfigError, match=r"^summary must be 0 \(off\) or an int >= 2"):
        Classifier(**TINY, summary=bad).fit(X, y)


def test_the_cli_model_summary_reaches_the_classifier_and_not_the_recurrent_network():
    cfg = from_dict(ClassifyConfig, apply_overrides(default_config(), ["model.summary=12"]))
    assert classifier_from_config(cfg).get_params()["summary"] == 12
    assert classifier_from_config(ClassifyConfig()).get_params()["summary"] == Classifier().summary
    rnn = from_dict(ClassifyConfig, apply_overrides(default_config(), ["model.network='rnn'", "model.summary=12"]))
    with pytest.raises(ConfigError, match="model.summary = 12 does not apply to model.network = 'rnn'"):
        classifier_from_config(rnn)


def test_summary_member_survives_save_and_load(tmp_path):
    X, y = levels_data()
    clf = Classifier(**TINY, summary=6, summary_member=True).fit(X, y)
    assert clf.network_.summary_alone is not None
    clf.save(tmp_path / "m")
    back = Classifier.load(tmp_path / "m")
    assert back.summary_member and back.network_.summary_alone is not None
    np.testing.assert_array_equal(back.predict_proba(X), clf.predict_proba(X))

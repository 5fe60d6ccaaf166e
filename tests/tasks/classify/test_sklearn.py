"""`Classifier` follows scikit-learn's estimator conventions.

scikit-learn's estimator checks feed 2-D tabular arrays, which `Classifier` reads as aeon does:
each row one univariate series, (n, length) -> (n, 1, length) (test_bad_input.py). They run with
tiny budgets so they stay fast. The checks that cannot hold for that reading or for a 2-step
budget are listed with the reason.
"""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.utils.estimator_checks import parametrize_with_checks

from rnnkit.tasks.classify import Classifier

from tests.tasks.classify.test_estimator import TINY, ramps


ROWS_ARE_SERIES = "a row of F features is read as a series of length F and 1 channel"
EXPECTED_FAILURES = {
    "check_n_features_in": ROWS_ARE_SERIES + ", so n_features_in_ is 1 (channels), not F",
    "check_n_features_in_after_fitting": ROWS_ARE_SERIES + ", so n_features_in_ is 1 (channels), not F",
    "check_estimators_empty_data_messages": ROWS_ARE_SERIES + ": a (12, 0) array is 12 zero-length series, "
                                            "refused with rnnkit's own one-line message",
    "check_classifiers_train": "2 optimizer steps (kept tiny so the checks run fast) do not learn the blobs; "
                               "learning is tested in test_estimator.py",
    "check_dtype_object": "a non-number inside X is rnnkit's one-line DataError (a ValueError), "
                          "not numpy's TypeError",
}


@pytest.mark.filterwarnings("ignore::rnnkit.tasks.classify.ChanceLevelWarning")  # 2 steps learn nothing
# lr 1e-2: check_class_weight_classifiers needs the 2 steps to move the default network
@parametrize_with_checks([Classifier(hidden_size=4, num_layers=1, min_steps=2, max_steps=2, validation_fraction=0.0,
                               lr=1e-2,
                               device="cpu")],
                         expected_failed_checks=lambda est: EXPECTED_FAILURES)
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


def test_the_tags_say_2d_and_3d_arrays():
    from sklearn.utils import get_tags

    tags = get_tags(Classifier())
    assert tags.input_tags.three_d_array and tags.input_tags.two_d_array


def test_cross_val_score_runs_and_clone_keeps_params():
    X, y = ramps(24)
    clf = Classifier(**{**TINY, "min_steps": 20, "max_steps": 20})
    assert clone(clf).get_params() == clf.get_params()
    scores = cross_val_score(clf, X, y, cv=StratifiedKFold(3))
    assert scores.shape == (3,) and np.all((0 <= scores) & (scores <= 1))
    assert scores.mean() >= 0.7  # ramps are easy; a broken fold loop would score ~0.5
    pipe = make_pipeline(Classifier(**{**TINY, "min_steps": 2, "max_steps": 2}))
    assert pipe.fit(X, y).predict(X).shape == (24,)


def test_set_params_changes_what_fit_builds():
    X, y = ramps(16)
    clf = Classifier(**{**TINY, "min_steps": 1, "max_steps": 1}).set_params(hidden_size=5)
    assert clf.fit(X, y).network_.members[0].rnn.hidden_size == 5   # the default network, lstm_fcn
    with pytest.raises(ValueError, match="Invalid parameter"):
        clf.set_params(no_such_option=1)

"""Bad input to `Classifier`: one-line DataErrors that name the series and the rule."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rnnkit.errors import ConfigError, DataError
from rnnkit.tasks.classify import Classifier

from tests.tasks.classify.test_estimator import TINY, ramps

pytestmark = pytest.mark.filterwarnings("ignore::rnnkit.tasks.classify.ChanceLevelWarning")  # 1 step
ONE_STEP = {**TINY, "min_steps": 1, "max_steps": 1}


def _fails(X, y, match, error=DataError, **params):
    with pytest.raises(error, match=match) as info:
        Classifier(**{**ONE_STEP, **params}).fit(X, y)
    assert "\n" not in str(info.value)
    return str(info.value)


def test_a_2d_array_is_univariate_series_as_aeon_reads_it():
    """It was refused ("give a 3-D array ... e.g. X[:, None, :]"); aeon and sktime read (n, length)."""
    X, y = ramps(8)
    flat = Classifier(**ONE_STEP, random_state=0).fit(X[:, 0, :], y)
    deep = Classifier(**ONE_STEP, random_state=0).fit(X[:, :1, :], y)
    assert flat.n_features_in_ == deep.n_features_in_ == 1
    assert np.array_equal(flat.predict_proba(X[:, 0, :]), deep.predict_proba(X[:, :1, :]))
    assert np.array_equal(flat.predict_proba(pd.DataFrame(X[:, 0, :])), deep.predict_proba(X[:, :1, :]))


def test_len_x_and_len_y_differ():
    X, y = ramps(8)
    _fails(X, y[:7], "X holds 8 series but y holds 7 labels")


def test_one_class_only():
    X, y = ramps(8)
    _fails(X, np.full(8, "a"), r"y holds one class only \('a'\); a classifier needs at least 2 classes")


def test_nan_inside_a_series_names_series_step_and_channel():
    X, y = ramps(8, channels=2)
    X[5, 1, 3] = np.nan
    _fails(X, y, r"X\[5\] has a missing or infinite value \(nan\) at step 3, channel 1")
    series = [x.T for x in ramps(8)[0]]
    series[2][4, 0] = np.inf
    _fails(series, y, r"X\[2\] has a missing or infinite value \(inf\) at step 4, channel 0")


def test_zero_length_series():
    X, y = ramps(8)
    series = [x[0] for x in X]
    series[6] = np.zeros(0)
    _fails(series, y, r"X\[6\] is a zero-length series")
    _fails(np.zeros((8, 1, 0)), y, r"X\[0\] is a zero-length series")


def test_other_bad_inputs():
    X, y = ramps(8, channels=2)
    series = [x.T for x in X]
    series[3] = series[3][:, :1]
    _fails(series, y, r"X\[3\] has 1 channels but X\[0\]'s count is 2 \(a series in a list is \(length, channels\)")
    _fails(X, np.linspace(0, 1, 8), "Unknown label type: y holds continuous values")
    _fails(X, None, "requires y to be passed")
    _fails(X, y, "normalize must be one of auto, series, channel, none, got 'zscore'", ConfigError,
           normalize="zscore")
    _fails(X, y, "model must be one of lstm_fcn, rnn, got 'transformer'", ConfigError, model="transformer")


def test_predict_checks_the_channel_count_and_fitting():
    X, y = ramps(8, channels=2)
    clf = Classifier()
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        clf.predict(X)
    clf = Classifier(**ONE_STEP).fit(X, y)
    with pytest.raises(DataError, match=r"X\[0\] has 1 channels but the fitted model's count is 2"):
        clf.predict(X[:, :1, :])


def test_random_state_forms():
    X, y = ramps(8)
    Classifier(**ONE_STEP, random_state=np.random.RandomState(0)).fit(X, y)
    Classifier(**ONE_STEP, random_state=None).fit(X, y)
    _fails(X, y, "random_state must be an int, a numpy RandomState or None, got 'seven'", ConfigError,
           random_state="seven")

"""`Classifier(model="lstm_fcn")`: the hybrid network through the estimator."""
from __future__ import annotations

import numpy as np

from rnnkit.models.lstm_fcn import LSTMFCN
from rnnkit.tasks.classify import Classifier

TINY = dict(model="lstm_fcn", hidden_size=8, num_layers=1, min_steps=30, max_steps=30, batch_size=16,
            lr=1e-2, dropout=0.0, validation_fraction=0.0, partner=None)  # the network alone (test_partner.py)


def bumps(n, seed=0):
    """Variable-length univariate series (T_i, 1): class 1 has a bump, class 0 a dip."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    series = []
    for label in y:
        T = int(rng.integers(12, 30))
        x = 0.3 * rng.normal(size=T)
        at = int(rng.integers(2, T - 4))
        x[at:at + 3] += 3.0 if label else -3.0
        series.append(x[:, None].astype(np.float32))
    return series, y


def test_fits_variable_length_series_and_saves_and_loads(tmp_path):
    X, y = bumps(40)
    clf = Classifier(**TINY).fit(X, y)
    assert isinstance(clf.network_, LSTMFCN)
    Xt, yt = bumps(30, seed=1)
    assert clf.score(Xt, yt) >= 0.8
    clf.save(tmp_path / "m")
    back = Classifier.load(tmp_path / "m")
    assert isinstance(back.network_, LSTMFCN)
    np.testing.assert_array_equal(back.predict_proba(Xt), clf.predict_proba(Xt))
    # each series alone gets the probabilities it gets in a batch of others
    alone = np.concatenate([clf.predict_proba([x]) for x in Xt[:5]])
    np.testing.assert_allclose(alone, clf.predict_proba(Xt)[:5], rtol=1e-5, atol=1e-6)


def test_convolution_options_reach_the_network_and_survive_save(tmp_path):
    X, y = bumps(20)
    clf = Classifier(**{**TINY, "min_steps": 2, "max_steps": 2}, filters=(3, 5), kernels=(5, 3),
                     dilations=(1, 4)).fit(X, y)
    convs = clf.network_.members[0].convs
    assert [c.out_channels for c in convs] == [3, 5] and [c.kernel_size[0] for c in convs] == [5, 3]
    assert [c.dilation[0] for c in convs] == [1, 4]
    clf.save(tmp_path / "m")
    back = Classifier.load(tmp_path / "m")
    assert [c.dilation[0] for c in back.network_.members[0].convs] == [1, 4]
    np.testing.assert_array_equal(back.predict_proba(X), clf.predict_proba(X))

"""`Classifier(conv_steps=..., rnn_steps=...)`: the hybrid's input resolution through the estimator."""
from __future__ import annotations

import re

import numpy as np
import pytest

from rnnkit.errors import ConfigError
from rnnkit.tasks.classify import Classifier

pytestmark = pytest.mark.filterwarnings("ignore::rnnkit.tasks.classify.ChanceLevelWarning")  # 2 steps

TINY = dict(model="lstm_fcn", filters=(4, 4), kernels=(3, 3), dilations=(1, 2), hidden_size=4, num_layers=1,
            min_steps=2, max_steps=2, batch_size=8, dropout=0.0, partner=None)  # the network alone


def series(n, T=40, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=(T, 1)).astype(np.float32) for _ in range(n)], np.arange(n) % 2


def steps_seen(clf, X):
    """The number of steps the first convolution and the recurrent layer read, per batch."""
    member = clf.network_.members[0]
    seen = {}
    h1 = member.convs[0].register_forward_hook(lambda m, a, out: seen.__setitem__("conv", a[0].shape[2]))
    h2 = member.rnn.register_forward_hook(lambda m, a, out: seen.__setitem__("rnn", int(a[0].batch_sizes.numel())))
    try:
        clf.predict_proba(X)
    finally:
        h1.remove(), h2.remove()
    return seen


@pytest.mark.parametrize("conv_steps, rnn_steps, conv_seen, rnn_seen", [
    (512, 64, 40, 40),     # the defaults: a 40-step series is read whole by both branches
    (10, 64, 10, 40),      # conv branch: 10 means of 4 steps
    (512, 8, 40, 8),       # recurrent branch: 8 means of 5 steps
])
def test_resolution_reaches_the_network_and_survives_save(tmp_path, conv_steps, rnn_steps, conv_seen, rnn_seen):
    X, y = series(12)
    clf = Classifier(**TINY, conv_steps=conv_steps, rnn_steps=rnn_steps).fit(X, y)
    assert (clf.network_.conv_steps, clf.network_.rnn_steps) == (conv_steps, rnn_steps)
    assert steps_seen(clf, X) == {"conv": conv_seen, "rnn": rnn_seen}
    clf.save(tmp_path / "m")
    back = Classifier.load(tmp_path / "m")
    assert (back.conv_steps, back.rnn_steps) == (conv_steps, rnn_steps)
    assert steps_seen(back, X) == {"conv": conv_seen, "rnn": rnn_seen}
    np.testing.assert_array_equal(back.predict_proba(X), clf.predict_proba(X))


def test_full_resolution_equals_any_larger_bound():
    """conv_steps at or above every length means no window means: 40 and 4096 train alike."""
    X, y = series(12)
    a = Classifier(**TINY, conv_steps=40).fit(X, y).predict_proba(X)
    b = Classifier(**TINY, conv_steps=4096).fit(X, y).predict_proba(X)
    np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("name", ["conv_steps", "rnn_steps"])
def test_bad_resolution_is_a_one_line_error(name):
    X, y = series(6)
    with pytest.raises(ConfigError, match=re.escape(f"model {name} must be >= 1, got 0")):
        Classifier(**TINY, **{name: 0}).fit(X, y)

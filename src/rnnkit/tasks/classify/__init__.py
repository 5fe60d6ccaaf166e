"""Sequence classification: the :class:`Classifier` estimator, config and pipeline (train,
predict, evaluate), metrics, and :func:`adapted` (test-time adaptation to unlabelled inputs)."""
from __future__ import annotations

from rnnkit.tasks.classify.adapt import adapted
from rnnkit.tasks.classify.estimator import Classifier
from rnnkit.tasks.classify.fitting import ChanceLevelWarning

__all__ = ["Classifier", "ChanceLevelWarning", "adapted"]

"""Sequence classification: the :class:`Classifier` estimator, :class:`SpeechClassifier` (the same
on recordings, with the speech front end), config and pipeline (train, predict, evaluate),
metrics, and :func:`adapted` (test-time adaptation to unlabelled inputs)."""
from __future__ import annotations

from rnnkit.tasks.classify.adapt import adapted
from rnnkit.tasks.classify.estimator import Classifier
from rnnkit.tasks.classify.fitting import ChanceLevelWarning
from rnnkit.tasks.classify.speech import SpeechClassifier

__all__ = ["Classifier", "ChanceLevelWarning", "SpeechClassifier", "adapted"]

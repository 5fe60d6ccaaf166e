"""Character-level text modelling: the :class:`LanguageModel` object, config and pipeline
(train, evaluate, generate)."""
from __future__ import annotations

from rnnkit.tasks.text.estimator import LanguageModel, UnseenCharactersWarning

__all__ = ["LanguageModel", "UnseenCharactersWarning"]

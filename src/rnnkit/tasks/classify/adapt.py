"""A fitted :class:`~rnnkit.tasks.classify.Classifier` adapted, without labels, to the inputs it
is about to predict: its networks' batch-norm statistics re-estimated from them (AdaBN).

    >>> mine = adapted(clf, X_user)      # a copy; clf is not changed
    >>> mine.predict(X_user)

What it is for: a network trained on some voices (or sensors, or sites) and used on another
whose features are shifted or scaled as a whole. Batch normalisation holds the training data's
mean and variance of every convolution channel; re-estimating them from the new inputs moves
the network's operating point to them and leaves everything it learned (the weights) as it is.
On the spoken digits, a model trained on two synthesis engines and adapted to one unseen
voice's ten words at a time recognises the third engine's voices better (RESULTS_classify.md,
"Fifteenth pass").

It is transductive: a prediction depends on the other inputs adapted on. Give it a batch from
one source (a folder of one person's recordings), with several different classes in it: a
batch of a single class would move the statistics toward that class. Only networks with batch
normalisation can be adapted (the LSTM-FCN hybrid, ``model="lstm_fcn"``: its convolutions, its
summary branch and its ``input_norm``); a plain recurrent network gives a one-line DataError.
At most :data:`MAX_INPUTS` inputs are used (evenly spaced), all in one batch.
"""
from __future__ import annotations

import copy
from typing import Any

import numpy as np
from sklearn.utils.validation import check_is_fitted

from rnnkit.data.classify_inputs import natural_key
from rnnkit.errors import DataError
from rnnkit.models.masked_norm import reestimate_statistics
from rnnkit.tasks.classify.arrays import as_sequences
from rnnkit.tasks.classify.crops import VIEWS, windowed_proba
from rnnkit.training.device import torch_threads

__all__ = ["adapted", "group_indices", "MAX_INPUTS"]

MAX_INPUTS = 2048  # one batch: the statistics are those of this many inputs at most


def adapted(clf: Any, X: Any) -> Any:
    """A copy of the fitted ``clf`` whose networks' batch-norm statistics are those of ``X``
    (any input ``predict`` takes; at least 2 series), as each network sees it: normalised by
    its own normaliser and, with ``crop`` < 1, as the windows prediction averages over."""
    check_is_fitted(clf, "network_")
    raw = as_sequences(X, clf.n_features_in_)
    if len(raw) < 2:
        raise DataError(f"adapt: needs at least 2 inputs to estimate statistics from, got {len(raw)}")
    if len(raw) > MAX_INPUTS:
        raw = [raw[i] for i in np.linspace(0, len(raw) - 1, MAX_INPUTS).round().astype(int)]
    out = copy.copy(clf)  # shares the fitted trees and normalisers, which adapting does not touch
    out.network_ = copy.deepcopy(clf.network_)
    pairs = [(out.network_, out.normalizer_)]
    if getattr(clf, "partner_network_", None) is not None:
        out.partner_network_ = copy.deepcopy(clf.partner_network_)
        pairs.append((out.partner_network_, out.partner_normalizer_))
    crop, min_length = float(getattr(clf, "crop", 1.0)), int(getattr(clf, "crop_min_length", 1))
    with torch_threads(clf.threads):
        for network, normalizer in pairs:
            seqs = normalizer(raw)
            one_batch = len(seqs) * VIEWS  # every window prediction makes of them
            if reestimate_statistics(network, lambda: windowed_proba(network, seqs, crop, min_length, one_batch)) == 0:
                raise DataError(f"adapt: the network ({clf.model!r}) has no batch normalisation to adapt; "
                                f"only model='lstm_fcn' has")
    return out


def group_indices(groups: Any) -> list[tuple[Any, list[int]]]:
    """(group, the positions of its items) for each group in ``groups``, in natural order: the
    batches that are each adapted to alone when every group (speaker) is a new source."""
    members: dict[Any, list[int]] = {}
    for i, group in enumerate(groups):
        members.setdefault(group, []).append(i)
    return [(group, members[group]) for group in sorted(members, key=lambda g: natural_key(str(g)))]

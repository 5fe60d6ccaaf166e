"""In-memory inputs of :class:`~rnnkit.tasks.classify.Classifier`: checks and normalisation.

``X`` is one of

- a 3-D array (n, C, T): n series of C channels and T steps, as aeon and sktime hold them;
- a 2-D array (n, T) (or a numeric DataFrame, one series per row): n univariate series, read
  as (n, 1, T), as aeon and sktime read it;
- a list of n arrays, each (T_i, C) (or 1-D (T_i,) for one channel), of any lengths T_i.

:func:`as_sequences` turns either into a list of (T_i, C) float32 arrays (float64 input
is accepted and cast) or raises a one-line :class:`~rnnkit.errors.DataError` naming the
series: a series with no steps, a NaN or infinity inside a series, a channel count that
differs between series.

Normalisation (``normalize``), applied to every series before the network sees it:

- ``"series"``: z-normalise each series and channel on its own,
  z_t = (x_t - mean_t(x)) / std_t(x) (std floored at 1e-8 times the largest |x_t|, so a constant
  series gives 0 and the floor does not depend on the units);
  the convention of the UCR archive's univariate sets, where offset and scale of a
  series carry no class information;
- ``"channel"``: standardise each channel with the mean and std of that channel over
  every step of every training series, z_t = (x_t - mu) / sigma; the statistics are
  fitted once and stored with the model (scale differences between series remain);
- ``"none"``: as given;
- ``"auto"`` (the default): ``"series"`` for univariate input (C = 1), ``"channel"``
  otherwise (multivariate channels often differ in units, and their levels may matter).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
from sklearn.exceptions import DataConversionWarning

from rnnkit.errors import ConfigError, DataError

__all__ = ["NORMALIZATIONS", "as_sequences", "as_labels", "encode_labels", "Normalizer"]

NORMALIZATIONS = ("auto", "series", "channel", "none")
_EPS = 1e-8


def _series(x: Any, i: int, what: str) -> np.ndarray:
    try:
        a = np.asarray(x)
    except (ValueError, TypeError) as err:
        raise DataError(f"{what}[{i}] is not an array of numbers: {str(err).splitlines()[0]}") from None
    if a.dtype == object:  # numbers held as Python objects
        try:
            a = a.astype(np.float64)
        except (ValueError, TypeError):
            raise DataError(f"{what}[{i}] must hold numbers, got objects that are not") from None
    if np.iscomplexobj(a):
        raise DataError(f"Complex data not supported: {what}[{i}] holds complex numbers")
    if a.ndim == 1:
        a = a[:, None]  # (T,) -> (T, 1)
    if a.ndim != 2:
        raise DataError(f"{what}[{i}] must be (length, channels) or 1-D, got shape {a.shape}")
    if not (np.issubdtype(a.dtype, np.floating) or np.issubdtype(a.dtype, np.integer)) or a.dtype == bool:
        raise DataError(f"{what}[{i}] must hold numbers, got dtype {a.dtype}")
    return a


def as_sequences(X: Any, n_channels: int | None = None, what: str = "X") -> list[np.ndarray]:
    """``X`` (see the module doc) -> n float32 arrays (T_i, C); one-line DataError otherwise.

    ``n_channels``: the channel count every series must have (the fitted model's).
    """
    if hasattr(X, "toarray") or type(X).__module__.startswith("scipy.sparse"):
        raise DataError(f"{what} is a sparse matrix; sparse input is not supported: give a dense 3-D array "
                        f"or a list of series")
    if not isinstance(X, (list, tuple, np.ndarray)) and hasattr(X, "__array__"):
        X = np.asarray(X)  # array-likes (pandas, xarray, ...)
    if isinstance(X, np.ndarray) and X.dtype == object and X.ndim >= 2:  # numbers held as objects
        try:
            X = X.astype(np.float64)
        except (ValueError, TypeError):
            raise DataError(f"{what} must hold numbers, got a {X.ndim}-D array of other objects") from None
    if isinstance(X, np.ndarray) and X.dtype != object:
        if X.ndim == 2:  # (n, T): univariate series, one per row (aeon's and sktime's reading)
            X = X[:, None, :]
        if X.ndim != 3:
            raise DataError(f"{what} must be a 3-D array (n_series, n_channels, length), a 2-D one (n_series, "
                            f"length) of univariate series, or a list of series, got shape {X.shape}; Reshape your data")
        seqs = [_series(np.swapaxes(x, 0, 1), i, what) for i, x in enumerate(X)]  # (C, T) -> (T, C)
    elif isinstance(X, (list, tuple, np.ndarray)):
        seqs = [_series(x, i, what) for i, x in enumerate(X)]
    else:
        raise DataError(f"{what} must be a 3-D array or a list of arrays, got {type(X).__name__}")
    if not seqs:
        raise DataError(f"{what} holds no series")
    want = n_channels if n_channels is not None else seqs[0].shape[1]
    out = []
    for i, s in enumerate(seqs):
        if s.shape[0] == 0:
            raise DataError(f"{what}[{i}] is a zero-length series (shape {s.shape}); every series needs >= 1 step")
        if s.shape[1] != want:
            seen = "the fitted model's" if n_channels is not None else f"{what}[0]'s"
            raise DataError(f"{what}[{i}] has {s.shape[1]} channels but {seen} count is {want} (a series in a "
                            f"list is (length, channels); aeon's lists hold (channels, length): transpose them)")
        bad = ~np.isfinite(s)
        if bad.any():
            t, c = np.argwhere(bad)[0]
            raise DataError(f"{what}[{i}] has a missing or infinite value ({s[t, c]}) at step {t}, "
                            f"channel {c}; fill or drop it first")
        out.append(np.ascontiguousarray(s, dtype=np.float32))
    return out


def as_labels(y: Any, n: int, what: str = "y") -> np.ndarray:
    """``y`` as a 1-D array of n labels (any hashable type), or a one-line DataError."""
    if y is None:
        raise DataError(f"Classifier requires y to be passed, but the target {what} is None")
    try:
        labels = np.asarray(y)
    except (ValueError, TypeError) as err:
        raise DataError(f"{what} is not a sequence of labels: {str(err).splitlines()[0]}") from None
    if labels.ndim == 2 and labels.shape[1] == 1:  # a column: taken as 1-D, as scikit-learn does
        warnings.warn(f"A column-vector {what} was passed when a 1d array was expected; read as 1-D", DataConversionWarning,
                      stacklevel=3)
        labels = labels[:, 0]
    if labels.ndim != 1:
        raise DataError(f"{what} should be a 1d array (one label per series), got shape {labels.shape}")
    if len(labels) != n:
        raise DataError(f"X holds {n} series but {what} holds {len(labels)} labels; give one label per series")
    if labels.dtype.kind == "f" and np.isnan(labels).any():
        raise DataError(f"{what}[{int(np.flatnonzero(np.isnan(labels))[0])}] is NaN; every series needs a label")
    if labels.dtype.kind == "f" and not np.all(labels == np.round(labels)):
        raise DataError(f"Unknown label type: {what} holds continuous values (e.g. {labels[labels != np.round(labels)][0]!r}); "
                        f"a classifier needs class labels")
    return labels


def encode_labels(labels: np.ndarray, index: dict, what: str = "y") -> np.ndarray:
    """Class numbers (n,) int64 of ``labels`` by ``index`` (label -> k); a label not in it is a
    one-line DataError naming ``what`` and its position."""
    out = []
    for i, label in enumerate(labels.tolist()):
        if label not in index:
            raise DataError(f"{what}[{i}]: label {label!r} is not one of the {len(index)} classes")
        out.append(index[label])
    return np.asarray(out, dtype=np.int64)


def _spread(x: np.ndarray) -> np.ndarray:
    """Each column's standard deviation, floored at _EPS times its largest |value| (1 for a column of
    zeros): a constant column is not divided by 0, and the floor is relative, so series in units of
    1e-12 are normalised as series in units of 1 are (an absolute 1e-8 floor flattened them to ~0)."""
    top = np.abs(x).max(axis=0)
    return np.maximum(x.std(axis=0), np.where(top > 0, _EPS * top, 1.0))


@dataclass
class Normalizer:
    """A fitted normalisation (``mode`` resolved from "auto"; ``mean``/``std`` for "channel").

    ``in_network``: the network applies the "channel" statistics itself (its input_mean /
    input_std buffers, so that an exported network holds them too); calling the normalizer
    then leaves the series as they are.
    """

    mode: str
    mean: list[float] = field(default_factory=list)
    std: list[float] = field(default_factory=list)
    in_network: bool = False

    @classmethod
    def fit(cls, mode: str, seqs: Sequence[np.ndarray]) -> "Normalizer":
        if mode not in NORMALIZATIONS:
            raise ConfigError(f"normalize must be one of {', '.join(NORMALIZATIONS)}, got {mode!r}")
        if mode == "auto":
            mode = "series" if seqs[0].shape[1] == 1 else "channel"
        if mode != "channel":
            return cls(mode)
        steps = np.concatenate(seqs, axis=0).astype(np.float64)  # (sum T_i, C)
        return cls(mode, steps.mean(axis=0).tolist(), _spread(steps).tolist())

    def __call__(self, seqs: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Each (T_i, C) series normalised, float32."""
        if self.mode == "series":
            out = []
            for s in seqs:
                s64 = s.astype(np.float64)
                out.append(((s64 - s64.mean(axis=0)) / _spread(s64)).astype(np.float32))
            return out
        if self.mode == "channel" and not self.in_network:
            mean = np.asarray(self.mean, dtype=np.float64)
            std = np.asarray(self.std, dtype=np.float64)
            return [((s - mean) / std).astype(np.float32) for s in seqs]
        return [np.asarray(s, dtype=np.float32) for s in seqs]

    def to_dict(self) -> dict:
        return {"mode": self.mode, "mean": self.mean, "std": self.std, "in_network": self.in_network}

    @classmethod
    def from_dict(cls, d: dict) -> "Normalizer":
        if d.get("mode") not in ("series", "channel", "none"):
            raise ConfigError(f"normalize mode {d.get('mode')!r} is not series, channel or none")
        return cls(d["mode"], list(d.get("mean") or []), list(d.get("std") or []), bool(d.get("in_network")))

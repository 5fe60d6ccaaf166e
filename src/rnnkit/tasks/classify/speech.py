"""`SpeechClassifier`: spoken-word classification from recordings, as one Python object.

    >>> sc = SpeechClassifier().fit("recordings/")            # class sub-folders of WAV files
    >>> sc = SpeechClassifier({"data.label_pattern": r"^(\\d)_"}).fit("digits/")   # labels from names
    >>> sc = SpeechClassifier().fit(["a.wav", "b.wav", ...], ["yes", "no", ...])  # files and labels
    >>> sc = SpeechClassifier().fit([signal, ...], labels)    # arrays at audio.sample_rate, or (rate, array)
    >>> sc.predict(["c.wav", signal])                          # labels; predict_proba: (n, K)
    >>> sc.save("model"); SpeechClassifier.load("runs/digits") # also a run of `rnnkit classify train`

What ``rnnkit classify train`` does with a folder of WAV files, in memory: the same front end
(``[audio]``: trimmed, features per frame, test-time augmentation), the same network and budget
(``[model]``, ``[train]``) and the same augmentation (``data.augment`` and ``audio.aug_*``), all
from one config (:mod:`.config`). ``settings`` maps the dotted keys of ``--set`` to values
(``{"train.epochs": 30, "audio.n_mfcc": 20}``); None: the CLI's defaults. What differs: ``fit``
holds out no test part (the command's ``data.test_fraction``); ``data.val_fraction`` of the groups
(``groups``, or the folder's ``data.group_pattern``; else each recording its own) is held out for
the best epoch, as there. The fitted :class:`~rnnkit.tasks.classify.Classifier` is
``classifier_`` (on feature sequences); ``adapted(sc.classifier_, features)`` adapts it.

Conventions (scikit-learn's): ``settings`` is stored as given and checked in ``fit`` (one-line
ConfigError); fitted attributes end in ``_`` (``classes_``, ``classifier_``, ``audio_``);
``score`` is the accuracy. A recording is a path to a WAV file (resampled to
``audio.sample_rate``, stereo mixed, as the command reads it) or a 1-D array of samples at that
rate (float, or integer PCM scaled as a WAV file's), or a pair ``(rate, samples)`` as
``scipy.io.wavfile.read`` returns it (resampled as a file is).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted

from rnnkit.data.audio import AudioConfig, features_from_signal
from rnnkit.data.classify_inputs import LabelledSequences, natural_key
from rnnkit.data.splits import group_disjoint_split, scan_folder
from rnnkit.data.wav import MAX_RATE, MIN_RATE, pcm_to_float, read_wav, resample
from rnnkit.errors import CheckpointError, ConfigError, DataError
from rnnkit.tasks.classify.config import ClassifyConfig
from rnnkit.tasks.classify.estimator import Classifier
from rnnkit.tasks.classify.pipeline import audio_of, fit_on, probabilities
from rnnkit.training.config import load_config
from rnnkit.training.device import torch_threads

__all__ = ["SpeechClassifier"]


class SpeechClassifier(ClassifierMixin, BaseEstimator):
    """Classifies recordings (WAV files or arrays of samples) with rnnkit's speech front end and
    network (module doc). ``settings``: dotted config keys (``--set``'s) to values; None: defaults."""

    def __init__(self, settings: Optional[Mapping[str, Any]] = None) -> None:
        self.settings = settings

    def config(self) -> ClassifyConfig:
        """The ``ClassifyConfig`` of ``settings`` over the command's defaults (checked)."""
        settings = {} if self.settings is None else self.settings
        if not isinstance(settings, Mapping) or not all(isinstance(k, str) for k in settings):
            raise ConfigError(f"settings: expected a mapping of dotted keys (e.g. 'train.epochs') to values, "
                              f"got {type(settings).__name__}")
        return load_config(ClassifyConfig, named=_plain(settings))

    # ------------------------------------------------------------------- fit
    def fit(self, X: Any, y: Any = None, groups: Any = None) -> "SpeechClassifier":
        """Train on recordings ``X`` with labels ``y`` (``groups``: the speaker of each, for the
        validation split and ``data.group_batches``), or on a folder ``X`` (class sub-folders, or
        ``data.label_pattern`` / ``data.group_pattern`` on the file names; no ``y``); returns self."""
        cfg = self.config()
        keep = cfg.data.augment or cfg.audio.tta > 0
        if isinstance(X, (str, os.PathLike)) and Path(X).is_dir():
            if y is not None or groups is not None:
                raise DataError(f"{X}: a folder gives its own labels and groups; pass y and groups only with "
                                "a list of recordings")
            files = scan_folder(X, cfg.data.label_pattern, cfg.data.group_pattern)
            data = _recordings([f.path for f in files], cfg.audio, keep, "X")
            data.labels, data.groups = [f.label for f in files], [f.group for f in files]
        else:
            data = _recordings(X, cfg.audio, keep, "X")
            data.labels = _labels(y, len(data.names))
            data.groups = list(data.names) if groups is None else _groups(groups, len(data.names))
            if cfg.data.group_batches and groups is None:
                raise DataError("groups: data.group_batches puts one group per training batch; give the group "
                                "(speaker) of each recording")
        if all(isinstance(v, str) for v in data.labels):  # "2" before "10", as the command orders them
            labels = sorted(set(data.labels), key=natural_key)
        else:  # numbers (or other labels numpy sorts) keep their type: predict gives y's kind back
            labels = np.unique(np.asarray(data.labels)).tolist()
        if len(labels) < 2:
            raise DataError(f"y: training needs at least 2 classes, found {labels}")
        train_idx, val_idx = list(range(len(data.names))), []
        if cfg.data.val_fraction > 0:
            train_idx, val_idx = group_disjoint_split(data.groups, cfg.data.val_fraction, cfg.data.split_seed + 1)
        with torch_threads(cfg.train.threads):
            clf = fit_on(cfg, data.subset(train_idx), data.subset(val_idx), labels,
                         grouped=groups is not None)
        clf.info_ = {**clf.info_, "speech_settings": _plain(self.settings or {})}
        self.classifier_, self.audio_ = clf, cfg.audio
        self.classes_ = clf.classes_
        return self

    # --------------------------------------------------------------- predict
    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities (n, K), columns in ``classes_`` order (with ``audio.tta``: the mean
        over each recording's views, as the command predicts)."""
        check_is_fitted(self, "classifier_")
        data = _recordings(X, self.audio_, self.audio_.tta > 0, "X")
        with torch_threads(self.classifier_.threads):
            return probabilities(self.classifier_, data)

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class of each recording."""
        check_is_fitted(self, "classifier_")
        return self.classes_[self.predict_proba(X).argmax(axis=1)]

    # ------------------------------------------------------------- save/load
    def save(self, path: str | Path) -> None:
        """The classifier's folder (``model.safetensors``, ``model.json`` with the front end and
        ``settings``): what ``rnnkit classify predict/evaluate --model`` read."""
        check_is_fitted(self, "classifier_")
        self.classifier_.save(path)

    @classmethod
    def load(cls, path: str | Path) -> "SpeechClassifier":
        """The model in ``path``: a folder ``save`` wrote, or a run of ``rnnkit classify train``
        on WAV files (its ``model/``)."""
        path = Path(path)
        folder = path / "model" if (path / "model" / "model.json").is_file() else path
        clf = Classifier.load(folder)
        audio = audio_of(clf.info_)
        if audio is None:
            raise CheckpointError(f"{folder / 'model.json'}: a classifier of series (.ts), not of recordings; "
                                  "load it with Classifier.load")
        settings = clf.info_.get("speech_settings") or None
        sc = cls(settings)
        try:
            sc.config()
        except ConfigError as err:
            raise CheckpointError(f"{folder / 'model.json'}: speech_settings: {err}") from None
        sc.classifier_, sc.audio_, sc.classes_ = clf, audio, clf.classes_
        return sc


def _plain(settings: Mapping[str, Any]) -> dict:
    """The settings with NumPy scalars as the Python numbers they hold (checked and saved as such)."""
    return {k: v.item() if isinstance(v, np.generic) else v for k, v in settings.items()}


def _recordings(X: Any, audio: AudioConfig, keep_signals: bool, what: str) -> LabelledSequences:
    """Recordings (paths to WAV files, or 1-D arrays of samples) -> their features, unlabelled."""
    if isinstance(X, (str, os.PathLike)):
        kind = "a folder" if Path(X).is_dir() else "one path"
        raise DataError(f"{what}: {kind} ({X}); give a list of recordings (WAV paths or arrays of samples)"
                        + (", or pass the folder to fit" if kind == "a folder" else ""))
    if (isinstance(X, np.ndarray) and X.ndim != 2) or not isinstance(X, (Sequence, np.ndarray)):
        raise DataError(f"{what}: expected a list of recordings (WAV paths or 1-D arrays of samples), "
                        f"got {type(X).__name__}{' of shape ' + str(X.shape) if isinstance(X, np.ndarray) else ''}")
    if len(X) == 0:
        raise DataError(f"{what}: holds no recordings")
    signals, names = [], []
    for i, item in enumerate(X):
        if isinstance(item, (str, os.PathLike)):
            x, _ = read_wav(item, audio.sample_rate, audio.stereo, audio.rate_mismatch)
            names.append(str(item))
        else:
            x = _samples(item, audio, f"{what}[{i}]")
            names.append(f"{what}[{i}]")
        signals.append(x)
    return LabelledSequences("wav", [features_from_signal(x, audio) for x in signals], None, list(names), names,
                             signals=signals if keep_signals else None)


def _samples(item: Any, audio: AudioConfig, where: str) -> np.ndarray:
    """One recording given as samples, read as a WAV file's are: an array (N,) at the model's rate,
    or a pair (rate, array) as ``scipy.io.wavfile.read`` returns it (resampled); (N, channels) is
    mixed (or refused with ``audio.stereo = "refuse"``); float, or integer PCM; finite, not empty."""
    rate = audio.sample_rate
    if isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], (int, np.integer)) \
            and not isinstance(item[0], bool):
        rate, item = int(item[0]), item[1]
        if not MIN_RATE <= rate <= MAX_RATE:
            raise DataError(f"{where}: a sample rate of {rate} Hz; rnnkit reads {MIN_RATE}..{MAX_RATE} Hz")
    x = np.asarray(item)
    if x.ndim not in (1, 2) or not (np.issubdtype(x.dtype, np.floating) or np.issubdtype(x.dtype, np.integer)) \
            or x.dtype == bool:
        raise DataError(f"{where}: expected a WAV path, an array of samples (N,) or (N, channels), or a pair "
                        f"(rate, samples), got {type(item).__name__} of shape {x.shape} and dtype {x.dtype}")
    x = pcm_to_float(x)
    if x.ndim == 2:
        if x.shape[1] > 1 and audio.stereo == "refuse":
            raise DataError(f"{where}: has {x.shape[1]} channels; only mono audio is accepted (stereo='refuse')")
        x = x.mean(axis=1)  # (N,)
    if x.size == 0:
        raise DataError(f"{where}: holds no samples")
    if not np.isfinite(x).all():
        raise DataError(f"{where}: sample {int(np.flatnonzero(~np.isfinite(x))[0])} is NaN or infinite")
    if rate != audio.sample_rate:
        if audio.rate_mismatch == "refuse":
            raise DataError(f"{where}: sample rate is {rate} Hz but {audio.sample_rate} Hz is required "
                            "(rate_mismatch='refuse')")
        x = resample(x, rate, audio.sample_rate)
    return x


def _labels(y: Any, n: int) -> list:
    if y is None:
        raise DataError("y: labels are needed with a list of recordings (a folder gives its own)")
    labels = np.asarray(y, dtype=object).ravel().tolist() if np.ndim(y) else [y]
    if len(labels) != n:
        raise DataError(f"y: {len(labels)} labels for {n} recordings")
    return labels


def _groups(groups: Any, n: int) -> list[str]:
    values = list(groups)
    if len(values) != n:
        raise DataError(f"groups: {len(values)} groups for {n} recordings")
    return [str(v) for v in values]

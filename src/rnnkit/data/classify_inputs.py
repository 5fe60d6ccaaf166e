"""Inputs of ``rnnkit classify``: a ``.ts`` file, a UCR archive ``.tsv`` file or a folder / list
of WAV files, as labelled feature sequences.

- ``.ts`` file: each case is one sequence (T, D); its name is ``<file>:<line>``, its
  group is itself (cases carry no speaker key), its label the case's class label.
- UCR ``.tsv`` file (``rnnkit.data.ucr_format``): the same, univariate (T, 1), of kind "ts".
- folder of WAV files: labels and groups come from :func:`rnnkit.data.splits.scan_folder`
  (sub-folders or ``label_pattern``; ``group_pattern``); each file becomes features
  (T, F) by :func:`rnnkit.data.audio.wav_features`; its name is its path.
- single WAV files (for ``predict``): features only, no labels.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from rnnkit.data.audio import AudioConfig, features_from_signal
from rnnkit.data.wav import WAV_SUFFIXES, read_wav
from rnnkit.data.splits import scan_folder
from rnnkit.data.ts_format import read_ts
from rnnkit.data.ucr_format import read_ucr
from rnnkit.errors import DataError

__all__ = ["LabelledSequences", "input_kind", "load_labelled", "load_unlabelled", "natural_key"]


@dataclass
class LabelledSequences:
    """Feature sequences (T_i, F) float32 with labels (None if unlabelled) and group keys."""

    kind: str                               # "ts" | "wav"
    features: list[np.ndarray]
    labels: list[str] | None
    groups: list[str]
    names: list[str]
    declared_labels: tuple[str, ...] | None = None   # a .ts header's @classLabel order
    signals: list[np.ndarray] | None = None           # raw audio, kept for augmentation

    @property
    def n_features(self) -> int:
        return int(self.features[0].shape[1])

    def subset(self, idx: Sequence[int]) -> "LabelledSequences":
        pick = lambda xs: None if xs is None else [xs[i] for i in idx]  # noqa: E731
        return LabelledSequences(self.kind, pick(self.features), pick(self.labels), pick(self.groups),
                                 pick(self.names), self.declared_labels, pick(self.signals))


def natural_key(label: str) -> tuple:
    """Sort key that puts ``"2"`` before ``"10"`` and ``"spk2"`` before ``"spk10"``."""
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in re.split(r"(\d+)", label) if p)


def input_kind(path: Path) -> str:
    """``"ts"``, ``"wav"`` (a file) or ``"folder"``; anything else is a DataError."""
    if path.is_dir():
        return "folder"
    if not path.exists():
        raise DataError(f"{path}: no such file or folder")
    suffix = path.suffix.lower()
    if suffix in (".ts", ".tsv"):  # a UCR archive .tsv holds series as a univariate .ts does
        return "ts"
    if suffix in WAV_SUFFIXES:
        return "wav"
    raise DataError(f"{path}: not a .ts file, a UCR archive .tsv file, a .wav file or a folder of WAV files")


def _from_ts(path: Path) -> LabelledSequences:
    data = read_ucr(path) if path.suffix.lower() == ".tsv" else read_ts(path)
    for case, line in zip(data.series, data.lines):
        if np.isnan(case).any():
            raise DataError(f"{path}:{line}: case has missing values; rnnkit classify needs complete series")
    names = [f"{path}:{line}" for line in data.lines]
    feats = [case.astype(np.float32) for case in data.series]
    return LabelledSequences("ts", feats, data.labels, list(names), names, data.class_labels)


def load_labelled(path: str | Path, audio: AudioConfig, label_pattern: str | None = None,
                  group_pattern: str | None = None, keep_signals: bool = False) -> LabelledSequences:
    """A labelled ``.ts`` file or folder of WAV files -> :class:`LabelledSequences`."""
    path = Path(path)
    kind = input_kind(path)
    if kind == "ts":
        out = _from_ts(path)
        if out.labels is None:
            raise DataError(f"{path}: has no class labels (@classLabel false); training and evaluation need labels")
        return out
    if kind == "wav":
        raise DataError(f"{path}: a single WAV file cannot be a labelled set; give a folder of WAV files")
    files = scan_folder(path, label_pattern, group_pattern)
    signals = [read_wav(f.path, audio.sample_rate, audio.stereo, audio.rate_mismatch)[0] for f in files]
    return LabelledSequences(
        kind="wav",
        features=[features_from_signal(x, audio) for x in signals],
        labels=[f.label for f in files],
        groups=[f.group for f in files],
        names=[str(f.path) for f in files],
        signals=signals if keep_signals else None,
    )


def load_unlabelled(paths: Sequence[str | Path], audio: AudioConfig | None,
                    keep_signals: bool = False) -> LabelledSequences:
    """Inputs of ``predict``: WAV files and ``.ts`` files (every case), in the order given.

    ``audio`` is None for a model trained on ``.ts`` data: then a WAV input is refused.
    All inputs must be of one kind, the kind the model was trained on. ``keep_signals``:
    keep the WAV files' samples too (test-time augmentation).
    """
    signals: list[np.ndarray] = []
    feats: list[np.ndarray] = []
    names: list[str] = []
    kinds: set[str] = set()
    for raw in paths:
        path = Path(raw)
        kind = input_kind(path)
        if kind == "folder":
            raise DataError(f"{path}: is a folder; give WAV or .ts files to predict")
        kinds.add(kind)
        if kind == "ts":
            data = _from_ts(path)
            feats += data.features
            names += data.names
        else:
            if audio is None:
                raise DataError(f"{path}: the model was trained on .ts series, not audio; give .ts files")
            x, _ = read_wav(path, audio.sample_rate, audio.stereo, audio.rate_mismatch)
            feats.append(features_from_signal(x, audio))
            names.append(str(path))
            signals.append(x)
    if not feats:
        raise DataError("no inputs given to predict")
    if len(kinds) > 1:
        raise DataError("inputs mix .ts and WAV files; give inputs of one kind")
    kind = kinds.pop()
    return LabelledSequences(kind, feats, None, list(names), names,
                             signals=signals if keep_signals and kind == "wav" else None)

"""Labelled file lists from folders, label/group regexes, and group-disjoint splits.

Two ways to label a folder of audio files:

- **ImageFolder convention** (no ``label_pattern``): ``root/<label>/<file>.wav``; each
  sub-folder of ``root`` is one class, named after the folder (files deeper down count
  for that class too);
- **a regex on file names** (``label_pattern``): every ``.wav`` file under ``root``
  (recursively); the label is the regex's first capture group, or its whole match when
  it has no group. ``^(\\d)_`` labels ``3_festival-kal-v2.wav`` as ``3``.

A ``group_pattern`` works the same way and gives each file a group key (a speaker, a
session); files of one group always land on the same side of a split. Without it each
file is its own group.

Handling: hidden files and files that do not end in ``.wav`` or ``.wave`` (any case) are
skipped, so a README or PROVENANCE.md beside the audio does no harm; audio in another
format (``.flac``, ``.mp3``, ...: ``rnnkit.data.wav.OTHER_AUDIO_SUFFIXES``) is skipped with
one warning that counts and names it, since those recordings would otherwise be left out
of the data without a word. A ``.wav`` file that is not valid audio fails later, when it is
read, with its name. An empty folder, a pattern that does not match a file name, or a bad
regex raises :class:`DataError`.
"""
from __future__ import annotations

import re
import warnings
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rnnkit.data.wav import OTHER_AUDIO_SUFFIXES, WAV_SUFFIXES
from rnnkit.errors import DataError

__all__ = ["LabelledFile", "compile_pattern", "match_key", "scan_folder", "group_disjoint_split"]


@dataclass(frozen=True)
class LabelledFile:
    path: Path
    label: str
    group: str


def compile_pattern(pattern: str, option: str) -> re.Pattern:
    """Compile a user regex; ``option`` names it in the error (e.g. ``--label-pattern``)."""
    try:
        return re.compile(pattern)
    except re.error as err:
        raise DataError(f"{option} '{pattern}' is not a valid regular expression: {err}") from None


def match_key(regex: re.Pattern, name: str, option: str, where: Path | str) -> str:
    """The first capture group (or whole match) of ``regex`` searched in ``name``."""
    found = regex.search(name)
    if found is None:
        raise DataError(f"{where}: {option} '{regex.pattern}' does not match the file name {name!r}")
    key = found.group(1) if regex.groups else found.group(0)
    if key is None or key == "":
        raise DataError(f"{where}: {option} '{regex.pattern}' matches {name!r} but captures an empty key")
    return key


def _visible_files(folder: Path) -> list[Path]:
    """Every file under ``folder``, hidden ones (any part of the path starting with ".") left out, sorted."""
    return sorted(p for p in folder.rglob("*")
                  if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts))


def _is_wav(p: Path) -> bool:
    return p.suffix.lower() in WAV_SUFFIXES


def _left_out(others: list[Path]) -> str:
    """'' or a sentence naming ``others``, audio files that are not WAV (they are not read)."""
    if not others:
        return ""
    kinds = Counter(p.suffix.lower() for p in others)
    counts = ", ".join(f"{n} {suffix}" for suffix, n in sorted(kinds.items()))
    are = "audio file is not WAV and is" if len(others) == 1 else "audio files are not WAV and are"
    return (f"{len(others)} {are} left out ({counts}; first: {others[0]}); "
            f"convert to WAV to use them (e.g. ffmpeg -i in.flac out.wav)")


def scan_folder(root: str | Path, label_pattern: str | None = None,
                group_pattern: str | None = None) -> list[LabelledFile]:
    """List the labelled audio files under ``root`` (see the module docstring)."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"{root}: not a folder of WAV files")
    group_re = compile_pattern(group_pattern, "--group-pattern") if group_pattern else None
    visible = _visible_files(root)  # the folder is walked once
    others = [p for p in visible if p.suffix.lower() in OTHER_AUDIO_SUFFIXES]
    items: list[tuple[Path, str]] = []
    if label_pattern:
        label_re = compile_pattern(label_pattern, "--label-pattern")
        files = [p for p in visible if _is_wav(p)]
        if not files:
            also = f" ({_left_out(others)})" if others else ""
            raise DataError(f"{root}: folder holds no .wav files{also}")
        items = [(p, match_key(label_re, p.name, "--label-pattern", p)) for p in files]
    else:
        classes = sorted(d for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
        if not classes:
            hint = " (give --label-pattern to take labels from file names)" if any(map(_is_wav, visible)) else ""
            raise DataError(f"{root}: folder has no class sub-folders{hint}")
        top = defaultdict(list)  # each visible file under the first folder of its path
        for p in visible:
            top[p.relative_to(root).parts[0]].append(p)
        for folder in classes:
            files = [p for p in top[folder.name] if _is_wav(p)]
            if not files:
                mine = [p for p in top[folder.name] if p.suffix.lower() in OTHER_AUDIO_SUFFIXES]
                also = f" ({_left_out(mine)})" if mine else ""
                raise DataError(f"{folder}: class folder holds no .wav files{also}")
            items += [(p, folder.name) for p in files]
    labelled = [
        LabelledFile(p, label, match_key(group_re, p.name, "--group-pattern", p) if group_re else str(p))
        for p, label in items
    ]
    if others:
        warnings.warn(f"{root}: {_left_out(others)}", stacklevel=2)
    return labelled


def group_disjoint_split(groups: list[str], test_fraction: float, seed: int = 0) -> tuple[list[int], list[int]]:
    """Split indices so that no group is on both sides -> (keep, held_out).

    ``round(test_fraction * n_groups)`` groups (at least one, at most all but one), drawn
    at random with ``seed``, go to the held-out side with all their items.
    """
    if not 0.0 < test_fraction < 1.0:
        raise DataError(f"split fraction must be in (0, 1), got {test_fraction}")
    unique = sorted(set(groups))
    if len(unique) < 2:
        raise DataError(f"a group-disjoint split needs at least 2 groups, got {len(unique)}: {unique[:3]}")
    n_out = min(max(1, round(test_fraction * len(unique))), len(unique) - 1)
    order = np.random.default_rng(seed).permutation(len(unique))
    held = {unique[i] for i in order[:n_out]}
    keep_idx = [i for i, g in enumerate(groups) if g not in held]
    held_idx = [i for i, g in enumerate(groups) if g in held]
    return keep_idx, held_idx

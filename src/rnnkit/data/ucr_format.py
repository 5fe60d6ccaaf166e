"""Reader for the UCR archive's own format (``<Name>_TRAIN.tsv``, ``<Name>_TEST.tsv``).

The UCR Time Series Classification Archive (2018) ships each data set as two text files with one case
per line: the class label, then the series' values, separated by tabs::

    1	-0.647885	-0.641992	-0.638186	...
    2	-0.778353	-0.778279	-0.777151	...

Series of unequal length are padded at the end with ``NaN``; the padding is dropped, so a case of T
values becomes an array of shape (T, 1), as a univariate ``.ts`` case does (``rnnkit.data.ts_format``).
A ``NaN`` before the last value is a missing value, which ``rnnkit classify`` refuses, as it refuses one
in a ``.ts`` file. The older archive's comma-separated lines are read too. Every problem is a one-line
:class:`rnnkit.errors.DataError` that starts ``<file>:<line>:``.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from rnnkit.data.ts_format import FLOAT32_MAX, MAX_LENGTH, TsData, read_utf8
from rnnkit.errors import DataError

__all__ = ["read_ucr"]


def _label(text: str) -> str:
    """The class label as written, except that a number written as a float (the older archive's
    ``1.0000000e+00``) is the integer it names: ``"1"``."""
    try:
        value = float(text)
    except ValueError:
        return text
    return str(int(value)) if value.is_integer() and not text.lstrip("+-").isdigit() else text


def read_ucr(path: str | Path) -> TsData:
    """Read a UCR archive ``.tsv`` file into a :class:`TsData` (module doc); labelled, no declared label order."""
    path = Path(path)
    text = read_utf8(path, "file")
    series, labels, lines = [], [], []
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        where = f"{path}:{lineno}"
        fields = line.split("\t") if "\t" in line else line.split(",")
        if len(fields) < 2:
            raise DataError(f"{where}: expected a class label and the series' values separated by tabs, "
                            f"got {line[:40]!r}")
        try:
            values = np.array([float(v) for v in fields[1:]], dtype=np.float64)
        except ValueError:
            bad = next(v for v in fields[1:] if not _is_number(v))
            raise DataError(f"{where}: value {bad.strip()[:40]!r} is not a number") from None
        present = np.flatnonzero(~np.isnan(values))
        if present.size == 0:
            raise DataError(f"{where}: the case has no values")
        values = values[: present[-1] + 1]  # the archive pads shorter series with NaN at the end
        if np.isnan(values).any():
            raise DataError(f"{where}: case has missing values (NaN before its last value); rnnkit classify needs "
                            "complete series")
        if not np.all(np.abs(values) <= FLOAT32_MAX):
            raise DataError(f"{where}: a value is infinite or beyond float32's range")
        if len(values) > MAX_LENGTH:
            raise DataError(f"{where}: case has {len(values)} values, more than {MAX_LENGTH}; downsample it first")
        series.append(values[:, None])
        labels.append(_label(fields[0].strip()))
        lines.append(lineno)
    if not series:
        raise DataError(f"{path}: no cases (a UCR .tsv file has one labelled series per line)")
    return TsData(path=path, series=series, labels=labels, class_labels=None, problem_name=path.stem, lines=lines)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True

"""Reader and writer for the sktime/UEA ``.ts`` time-series-classification format.

A ``.ts`` file is a header followed by one case per line::

    # comment lines start with '#'
    @problemName JapaneseVowels
    @timeStamps false
    @missing false
    @univariate false
    @dimensions 12
    @equalLength false
    @classLabel true 1 2 3 4 5 6 7 8 9
    @data
    1.86,1.89,1.93:-0.20,-0.19,-0.23: ... :1

After ``@data`` each line holds the D dimensions of one case separated by ``:``, the
values of one dimension separated by ``,`` and, when ``@classLabel true``, the class
label as the last ``:`` field. A case of length T becomes an array of shape (T, D):
every dimension of a case must have the same length, while cases may differ in length.
With ``@missing true`` a value ``?`` (or ``NaN``) reads as NaN. ``inf`` and values beyond
float32's range are refused, and so is a case longer than ``MAX_LENGTH`` (50,000) steps.

Not supported, and refused with a clear error: ``@timeStamps true`` (``(t,v)`` pairs)
and regression targets (``@targetLabel true``).

Every problem raises :class:`rnnkit.errors.DataError` with a one-line message that starts
``<file>:<line>:`` and echoes the offending text.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rnnkit.errors import DataError

__all__ = ["TsData", "read_ts", "read_utf8", "write_ts"]

_BOOL_TAGS = ("timestamps", "missing", "univariate", "equallength", "targetlabel")
_KNOWN_TAGS = set(_BOOL_TAGS) | {"problemname", "dimensions", "serieslength", "classlabel", "data"}


@dataclass
class TsData:
    """The cases of one ``.ts`` file.

    ``series[i]`` has shape (T_i, D) and dtype float64; ``labels[i]`` is its class label
    (a string) or None when the file has no labels; ``class_labels`` lists the labels the
    header declares, in header order; ``lines[i]`` is the 1-based line of case i.
    """

    path: Path
    series: list[np.ndarray]
    labels: list[str] | None
    class_labels: tuple[str, ...] | None
    problem_name: str = ""
    lines: list[int] = field(default_factory=list)

    @property
    def n_dims(self) -> int:
        return int(self.series[0].shape[1]) if self.series else 0

    def __len__(self) -> int:
        return len(self.series)


# Longest case accepted. A recurrent pass is sequential in time: at 200,000 steps one
# epoch takes minutes even for a tiny model, and such series are better downsampled.
MAX_LENGTH = 50_000
FLOAT32_MAX = float(np.finfo(np.float32).max)


def _short(text: str, limit: int = 40) -> str:
    text = text.strip()
    return repr(text if len(text) <= limit else text[:limit] + "...")


def _parse_bool(value: str, where: str, tag: str) -> bool:
    low = value.strip().lower()
    if low not in ("true", "false"):
        raise DataError(f"{where}: @{tag} must be 'true' or 'false', got {_short(value)}")
    return low == "true"


def _parse_dimension(text: str, where: str, k: int, allow_missing: bool) -> np.ndarray:
    """One ``,``-separated dimension -> (T,) float64; finite values, at most MAX_LENGTH."""
    length = text.count(",") + 1
    if length > MAX_LENGTH:
        raise DataError(
            f"{where}: dimension {k + 1} has {length} values; the limit is {MAX_LENGTH} per case "
            "(downsample or split long series)"
        )
    parts = text.split(",")
    values = np.empty(len(parts), dtype=np.float64)
    for j, part in enumerate(parts):
        token = part.strip()
        if token.startswith("("):
            raise DataError(
                f"{where}: dimension {k + 1} holds a timestamped value {_short(token)}; "
                "@timeStamps true files are not supported"
            )
        if token in ("?", "") or token.lower() == "nan":
            if token == "":
                raise DataError(f"{where}: dimension {k + 1}, value {j + 1} is empty")
            if not allow_missing:
                raise DataError(
                    f"{where}: dimension {k + 1}, value {j + 1} is missing ({token!r}) "
                    "but the header says @missing false"
                )
            values[j] = math.nan
            continue
        try:
            values[j] = float(token)
        except ValueError:
            raise DataError(
                f"{where}: dimension {k + 1}, value {j + 1} is not a number: {_short(token)}"
            ) from None
        if not math.isfinite(values[j]):
            raise DataError(f"{where}: dimension {k + 1}, value {j + 1} is not finite: {_short(token)}")
        if abs(values[j]) > FLOAT32_MAX:
            raise DataError(
                f"{where}: dimension {k + 1}, value {j + 1} is too large for the model's float32: {_short(token)}"
            )
    return values


def read_utf8(path: Path, kind: str) -> str:
    """The text of a case file (``.ts``, UCR ``.tsv``): a missing file or bytes that are not UTF-8 are one line;
    a byte-order mark (Windows tools) is dropped. ``kind`` names the file in "no such <kind>"."""
    if not path.is_file():
        raise DataError(f"{path}: no such {kind}")
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as err:
        raise DataError(f"{path}: not a UTF-8 text file ({err.reason} at byte {err.start})") from None


def read_ts(path: str | Path) -> TsData:
    """Read a ``.ts`` file into a :class:`TsData` (see the module docstring)."""
    path = Path(path)
    text = read_utf8(path, ".ts file")

    header: dict[str, object] = {}
    class_labels: tuple[str, ...] | None = None
    has_labels: bool | None = None
    in_data = False
    series: list[np.ndarray] = []
    labels: list[str] = []
    lines: list[int] = []
    n_dims: int | None = None

    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        where = f"{path}:{lineno}"
        if not line or line.startswith("#"):
            continue
        if not in_data:
            if not line.startswith("@"):
                raise DataError(f"{where}: expected a '@tag' header line or '#' comment before @data, got {_short(line)}")
            tag, _, value = line[1:].partition(" ")
            tag = tag.lower()
            if tag not in _KNOWN_TAGS:
                raise DataError(f"{where}: unknown header tag @{tag}")
            if tag == "data":
                if has_labels is None:
                    raise DataError(f"{where}: @data before @classLabel; the header must say @classLabel true|false")
                if header.get("timestamps"):
                    raise DataError(f"{where}: @timeStamps true files are not supported")
                if header.get("targetlabel"):
                    raise DataError(f"{where}: @targetLabel true (regression) files are not supported")
                in_data = True
            elif tag in _BOOL_TAGS:
                header[tag] = _parse_bool(value, where, tag)
            elif tag in ("dimensions", "serieslength"):
                try:
                    header[tag] = int(value)
                    if header[tag] <= 0:
                        raise ValueError
                except ValueError:
                    raise DataError(f"{where}: @{tag} must be a positive integer, got {_short(value)}") from None
            elif tag == "classlabel":
                flag, *names = value.split()
                has_labels = _parse_bool(flag if flag else "", where, "classLabel")
                if has_labels and not names:
                    raise DataError(f"{where}: @classLabel true must list the class labels")
                if has_labels and len(set(names)) != len(names):
                    raise DataError(f"{where}: @classLabel lists a label twice: {' '.join(names)}")
                class_labels = tuple(names) if has_labels else None
            else:
                header[tag] = value.strip()
            continue

        # A data line: D dimensions, then the label when the file has labels.
        fields = line.split(":")
        if has_labels:
            if len(fields) < 2:
                raise DataError(f"{where}: expected '<dim1>:...:<label>', got {_short(line)}")
            label = fields.pop().strip()
            if label not in class_labels:  # type: ignore[operator]
                raise DataError(
                    f"{where}: class label {label!r} is not declared by @classLabel "
                    f"({' '.join(class_labels)})"  # type: ignore[arg-type]
                )
            labels.append(label)
        want = n_dims if n_dims is not None else header.get("dimensions")
        if header.get("univariate") and len(fields) != 1:
            raise DataError(f"{where}: @univariate true but the case has {len(fields)} dimensions")
        if want is not None and len(fields) != want:
            source = "earlier cases have" if n_dims is not None else "@dimensions says"
            raise DataError(f"{where}: case has {len(fields)} dimensions but {source} {want}")
        n_dims = len(fields)
        dims = [_parse_dimension(f, where, k, bool(header.get("missing"))) for k, f in enumerate(fields)]
        lengths = {d.shape[0] for d in dims}
        if len(lengths) != 1:
            raise DataError(
                f"{where}: the dimensions of one case differ in length "
                f"({', '.join(str(d.shape[0]) for d in dims)} values)"
            )
        length = dims[0].shape[0]
        if header.get("equallength") and "serieslength" in header and length != header["serieslength"]:
            raise DataError(f"{where}: case has {length} values per dimension but @seriesLength says {header['serieslength']}")
        series.append(np.stack(dims, axis=1))  # (T, D)
        lines.append(lineno)

    if not in_data:
        raise DataError(f"{path}: no @data line; is this a .ts file?")
    if not series:
        raise DataError(f"{path}: no cases after @data")
    return TsData(
        path=path,
        series=series,
        labels=labels if has_labels else None,
        class_labels=class_labels,
        problem_name=str(header.get("problemname", "")),
        lines=lines,
    )


def write_ts(
    path: str | Path,
    series: list[np.ndarray],
    labels: list[str] | None = None,
    class_labels: list[str] | None = None,
    problem_name: str = "rnnkit",
) -> Path:
    """Write cases of shape (T_i, D) (and optional labels) as a ``.ts`` file."""
    path = Path(path)
    if not series:
        raise DataError(f"{path}: nothing to write (no cases)")
    dims = {np.asarray(s).shape[1] for s in series}
    if len(dims) != 1:
        raise DataError(f"{path}: cases differ in their number of dimensions: {sorted(dims)}")
    lengths = {np.asarray(s).shape[0] for s in series}
    if labels is not None and class_labels is None:
        class_labels = sorted(set(labels))
    out = [
        f"@problemName {problem_name}",
        "@timeStamps false",
        f"@missing {'true' if any(np.isnan(np.asarray(s)).any() for s in series) else 'false'}",
        f"@univariate {'true' if dims == {1} else 'false'}",
        f"@dimensions {dims.pop()}",
        f"@equalLength {'true' if len(lengths) == 1 else 'false'}",
    ]
    if len(lengths) == 1:
        out.append(f"@seriesLength {lengths.pop()}")
    out.append(f"@classLabel true {' '.join(class_labels)}" if labels is not None else "@classLabel false")
    out.append("@data")
    for i, case in enumerate(series):
        case = np.asarray(case, dtype=np.float64)  # (T, D)
        cols = [",".join("?" if np.isnan(v) else repr(float(v)) for v in case[:, k]) for k in range(case.shape[1])]
        if labels is not None:
            cols.append(str(labels[i]))
        out.append(":".join(cols))
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    return path

"""CSV -> validated time series: time column, targets, covariates, frequency, gaps, groups.

``read_series(path, targets, time_col=...)`` reads a CSV through pandas and checks it
cell by cell, so that every problem is one :class:`~rnnkit.errors.DataError` line that
names the file, the row and the column. Rows are numbered as in a spreadsheet: the
header is row 1, the first data row is row 2 (so a row number is also the file's line
number when no cell spans lines).

Delimiter: a comma, or a semicolon (then numbers may have decimal commas), tab or bar
when the header has no comma (``csv_text.delimiter``). Time column: integers give integer
steps (``year`` 1700, 1701, ...); anything else is parsed as dates, with the day or the
month first in 03/04/2015 decided once for the column (``dates.day_or_month_first``), and
period labels (2015Q1, 2015M01, 2015-W01) read as their periods' starts (``dates.period_labels``).
Without ``time_col`` the row order is the time (steps 0, 1, 2, ...).
Frequency: ``pd.infer_freq``, else a guess from the median step (weekly, monthly,
quarterly, yearly or fixed), or ``freq`` given (``--freq``). Every timestamp must lie on
that grid; grid points with no row are *gaps*.

Missing values (empty cells, ``NaN``, ``NA``) and gaps follow ``missing``:
``error`` (the default; the message names the rows), ``interpolate`` (linear in time)
or ``ffill`` (last value carried forward; leading gaps are back-filled).
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from rnnkit.data.csv_text import check_shape, data_rows, decimal_point, delimiter, plural, read_text, row_list
from rnnkit.data.csv_text import where as _where
from rnnkit.data.dates import day_or_month_first, period_labels
from rnnkit.data.frequency import Freq, guess_freq, next_times, regular_grid
from rnnkit.errors import DataError

__all__ = ["MISSING_POLICIES", "Series", "next_times", "read_series"]

MISSING_POLICIES = ("error", "interpolate", "ffill")
_NA_STRINGS = {"", "nan", "NaN", "NAN", "NA", "N/A", "na", "null", "NULL", "None"}


@dataclass
class Series:
    """One validated series (one group of the file), on a regular time grid.

    ``time`` is a ``DatetimeIndex`` or an integer ``Index``; ``values`` (N, C) holds
    the targets, ``covariates`` (N, K) the past-covariate columns (both float64).
    """

    name: str
    time: pd.Index
    values: np.ndarray  # (N, C)
    targets: list[str]
    freq: Freq
    covariates: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))  # (N, K)
    covariate_names: list[str] = field(default_factory=list)
    filled: int = 0  # values filled by the missing policy
    future: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))  # (N, J) known-future
    future_names: list[str] = field(default_factory=list)
    ahead: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))  # (k, J) rows after the end

    def __len__(self) -> int:
        return len(self.values)

    @property
    def is_datetime(self) -> bool:
        return isinstance(self.time, pd.DatetimeIndex)


FLOAT32_MAX = float(np.finfo(np.float32).max)


def _numeric(path: str, frame: pd.DataFrame, col: str) -> np.ndarray:
    """Column as float64, NaN where the cell is missing; a non-number is an error."""
    cells = frame[col].astype(str).str.strip()
    missing = cells.isin(_NA_STRINGS).to_numpy()
    values = pd.to_numeric(cells.where(~missing), errors="coerce").to_numpy(dtype=float)
    bad = np.flatnonzero(np.isnan(values) & ~missing)
    if bad.size:
        row = int(frame.index[bad[0]])
        raise DataError(f"{_where(path, row, col)}: {cells.iloc[bad[0]]!r} is not a number")
    inf = np.flatnonzero(np.isinf(values))
    if inf.size:
        row = int(frame.index[inf[0]])
        raise DataError(f"{_where(path, row, col)}: {cells.iloc[inf[0]]!r} is not finite")
    big = np.flatnonzero(np.abs(values) > FLOAT32_MAX)  # NaN compares False
    if big.size:  # it would overflow to inf in the model's float32, or after scaling
        row = int(frame.index[big[0]])
        raise DataError(
            f"{_where(path, row, col)}: {cells.iloc[big[0]]!r} is too large for the model's float32 "
            f"(|value| <= {FLOAT32_MAX:.4g})"
        )
    return values


def _parse_time(path: str, frame: pd.DataFrame, col: str) -> pd.Index:
    cells = frame[col].astype(str).str.strip()
    empty = np.flatnonzero(cells.isin(_NA_STRINGS).to_numpy())
    if empty.size:
        raise DataError(f"{_where(path, int(frame.index[empty[0]]), col)}: the time is empty")
    as_int = pd.to_numeric(cells, errors="coerce")
    if as_int.notna().all() and (as_int == as_int.round()).all():
        huge = np.flatnonzero(~(np.abs(as_int.to_numpy(dtype=float)) < 2**53))  # inf, or past exact ints
        if huge.size:
            raise DataError(f"{_where(path, int(frame.index[huge[0]]), col)}: time step "
                            f"{cells.iloc[huge[0]]!r} is not a usable integer (|step| < 2**53)")
        return pd.Index(as_int.astype("int64").to_numpy(), name=col)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # pandas announces mixed-zone changes
            parsed = pd.to_datetime(cells, errors="coerce", format="mixed")
    except ValueError:  # pandas refuses a column that mixes time zones
        raise DataError(_mixed_zones(path, frame, col, cells)) from None
    if parsed.dtype == object:  # older pandas returns mixed zones as objects instead
        raise DataError(_mixed_zones(path, frame, col, cells))
    bad = np.flatnonzero(parsed.isna().to_numpy())
    if bad.size:
        row = int(frame.index[bad[0]])
        raise DataError(
            f"{_where(path, row, col)}: {cells.iloc[bad[0]]!r} is neither a date nor an integer step"
        )
    index = pd.DatetimeIndex(parsed.to_numpy(), name=col)
    years = np.asarray(index.year)
    far = np.flatnonzero((years < 1678) | (years > 2261))  # outside pandas' nanosecond range
    if far.size:
        raise DataError(f"{_where(path, int(frame.index[far[0]]), col)}: {cells.iloc[far[0]]!r} is outside "
                        "the dates rnnkit handles (years 1678..2261)")
    return index.as_unit("ns")


def _mixed_zones(path: str, frame: pd.DataFrame, col: str, cells: pd.Series) -> str:
    """The message for a time column whose cells carry different UTC offsets."""
    first = None
    for i, cell in enumerate(cells):
        try:
            stamp = pd.Timestamp(cell)
        except ValueError:
            continue
        zone = stamp.utcoffset()
        if first is None:
            first = (i, zone)
        elif zone != first[1]:
            return (f"{_where(path, int(frame.index[i]), col)}: {cell!r} is in another time zone than "
                    f"row {int(frame.index[first[0]])}'s {cells.iloc[first[0]]!r}; use one time zone "
                    "(or none) for the whole column")
    return f"{_where(path, None, col)}: the times mix time zones; use one time zone (or none)"


# ---------------------------------------------------------------------- frequency
def _resolve_freq(path: str, time: pd.Index, rows: np.ndarray, col: str, freq) -> Freq:
    if isinstance(time, pd.DatetimeIndex):
        if freq is not None:
            try:
                return pd.tseries.frequencies.to_offset(str(freq)).freqstr
            except ValueError:
                raise DataError(
                    f"--freq {freq!r} is not a pandas frequency (e.g. D, W, MS, YS)"
                ) from None
        guessed = guess_freq(time)
        if guessed is None:
            raise DataError(
                f"{_where(path, None, col)}: cannot infer a regular frequency from the "
                "timestamps; pass --freq (e.g. D, W-SAT, MS, YS) or fix the irregular rows"
            )
        return guessed
    if freq is not None:
        try:
            step = int(freq)
        except ValueError:
            raise DataError(f"--freq {freq!r} must be an integer step for integer times") from None
        if step <= 0:
            raise DataError(f"--freq must be a positive integer step, got {freq!r}")
        return step
    return int(np.min(np.diff(time.to_numpy()))) if len(time) > 1 else 1


# ------------------------------------------------------------------------ checking
def _check_order(path: str, time: pd.Index, rows: np.ndarray, col: str) -> None:
    stamps = time.as_unit("ns").asi8 if isinstance(time, pd.DatetimeIndex) else time.to_numpy()
    steps = np.diff(stamps)
    dup = np.flatnonzero(steps == 0)
    if dup.size:
        i = dup[0]
        raise DataError(
            f"{_where(path, int(rows[i + 1]), col)}: duplicate time {str(time[i + 1])!r} "
            f"(also row {int(rows[i])}); keep one row per time or aggregate them"
        )
    back = np.flatnonzero(steps < 0)
    if back.size:
        i = back[0]
        raise DataError(
            f"{_where(path, int(rows[i + 1]), col)}: time {str(time[i + 1])!r} comes before "
            f"the previous row's {str(time[i])!r}; sort the file by time"
        )


def _fill(path: str, name: str, values: np.ndarray, rows: Sequence, missing: str, what: str):
    """Apply the missing policy to one column (NaN = missing); returns (values, n_filled)."""
    gaps = np.flatnonzero(np.isnan(values))
    if not gaps.size:
        return values, 0
    if missing == "error":
        where = row_list([rows[i] for i in gaps])
        raise DataError(
            f"{_where(path, None, name)}: {plural(int(gaps.size), what)} at {'row' if gaps.size == 1 else 'rows'} {where}; "
            "pass --missing interpolate or --missing ffill"
        )
    s = pd.Series(values)
    s = s.interpolate(limit_direction="both") if missing == "interpolate" else s.ffill().bfill()
    if s.isna().all():
        raise DataError(f"{_where(path, None, name)}: every value is missing")
    return s.to_numpy(dtype=float), int(gaps.size)


def _split_ahead(path, frame, targets, future) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Trailing rows whose targets are all empty: the known-future rows (predict only)."""
    empty = np.ones(len(frame), bool)
    for c in targets:
        empty &= frame[c].astype(str).str.strip().isin(_NA_STRINGS).to_numpy()
    n_ahead = len(frame) - (int(np.flatnonzero(~empty)[-1]) + 1 if (~empty).any() else 0)
    return frame.iloc[: len(frame) - n_ahead], frame.iloc[len(frame) - n_ahead :]


def _one_series(
    path, name, frame, time_col, targets, covariates, freq, missing, future=(), with_ahead=False
) -> Series:
    ahead_frame = frame.iloc[:0]
    if with_ahead and future:
        frame, ahead_frame = _split_ahead(path, frame, targets, future)
    rows = frame.index.to_numpy()
    if time_col is None:
        time = pd.Index(np.arange(len(frame)), name="step")
        resolved: Freq = 1
    else:
        time = _parse_time(path, frame, time_col)
        _check_order(path, time, rows, time_col)
        resolved = _resolve_freq(path, time, rows, time_col, freq)
    columns = {c: _numeric(path, frame, c) for c in [*targets, *covariates, *future]}
    if time_col is not None:
        grid = regular_grid(time, resolved)
        off = ~time.isin(grid)
        if off.any():
            i = int(np.flatnonzero(off)[0])
            raise DataError(
                f"{_where(path, int(rows[i]), time_col)}: time {str(time[i])!r} is off the "
                f"{resolved} grid that starts at {str(time[0])!r}; pass --freq or fix the time"
            )
        if len(grid) > len(time):
            missing_times = grid[~grid.isin(time)]
            if missing == "error":
                after = sorted(
                    {int(rows[time.get_indexer([t], method="ffill")[0]]) for t in missing_times}
                )
                raise DataError(
                    f"{_where(path, None, time_col)}: {plural(len(missing_times), 'missing time step')} "
                    f"(gaps in the {resolved} grid) after {'row' if len(after) == 1 else 'rows'} {row_list(after)}, first "
                    f"{str(missing_times[0])!r}; pass --missing interpolate or --missing ffill"
                )
            pos = grid.get_indexer(time)
            for c, v in columns.items():
                full = np.full(len(grid), np.nan)
                full[pos] = v
                columns[c] = full
            row_of = np.full(len(grid), -1)
            row_of[pos] = rows
            rows, time = row_of, grid
    filled = 0
    for c in columns:
        columns[c], n = _fill(path, c, columns[c], rows, missing, "missing value")
        filled += n
    values = np.stack([columns[c] for c in targets], axis=1)  # (N, C)
    cov = (
        np.stack([columns[c] for c in covariates], axis=1)
        if covariates
        else np.zeros((len(time), 0))
    )
    fut = np.stack([columns[c] for c in future], axis=1) if future else np.zeros((len(time), 0))
    ahead = np.zeros((0, len(future)))
    if len(ahead_frame):
        ahead = np.stack([_numeric(path, ahead_frame, c) for c in future], axis=1)  # (k, J)
        bad = np.flatnonzero(np.isnan(ahead).any(axis=1))
        if bad.size:
            row = int(ahead_frame.index[bad[0]])
            raise DataError(
                f"{_where(path, row)}: a known-future row needs every --future-covariate"
            )
        if time_col is not None:
            stamps = _parse_time(path, ahead_frame, time_col)
            expected = next_times(time, resolved, len(stamps))
            wrong = np.flatnonzero(np.asarray(stamps) != np.asarray(expected))
            if wrong.size:
                row = int(ahead_frame.index[wrong[0]])
                raise DataError(
                    f"{_where(path, row, time_col)}: known-future time {str(stamps[wrong[0]])!r} "
                    f"should be {str(expected[wrong[0]])!r}"
                )
    return Series(
        name,
        time,
        values,
        list(targets),
        resolved,
        cov,
        list(covariates),
        filled,
        fut,
        list(future),
        ahead,
    )


def read_series(
    path: str | Path,
    targets: Sequence[str] | str | None = None,
    time_col: str | None = None,
    *,
    freq: Freq | None = None,
    missing: str = "error",
    group_col: str | None = None,
    covariates: Sequence[str] = (),
    future_covariates: Sequence[str] = (),
    with_ahead: bool = False,
) -> list[Series]:
    """Read and validate a CSV; one :class:`Series` per group (one when no ``group_col``).

    ``targets`` defaults to every column other than the time, group and covariates.
    ``future_covariates`` are known-future columns; with ``with_ahead`` (predict), trailing
    rows whose targets are all empty hold their values for the steps after the end
    (``Series.ahead``).
    """
    if missing not in MISSING_POLICIES:
        raise DataError(f"--missing must be one of {', '.join(MISSING_POLICIES)}, got {missing!r}")
    path = Path(path)
    where = str(path)
    text = read_text(path)
    sep = delimiter(text)  # a comma; a semicolon, tab or bar when the header says so (csv_text)
    header = check_shape(where, text, sep)
    try:
        frame = pd.read_csv(
            io.StringIO(text), dtype=str, keep_default_na=False, skip_blank_lines=True, sep=sep
        )
    except pd.errors.ParserError as err:
        raise DataError(f"{where}: not valid CSV ({err})") from None
    frame.columns = header
    frame.index = data_rows(text, sep)[: len(frame)]
    targets = [targets] if isinstance(targets, str) else list(targets or [])
    named = [c for c in (time_col, group_col) if c] + [*covariates, *future_covariates] + targets
    for col in named:
        if col not in header:
            raise DataError(
                f"{_where(where, 1, col)}: no such column; the header has {', '.join(header)}"
            )
    if not targets:
        targets = [c for c in header if c not in named]
        if not targets:
            raise DataError(f"{_where(where, 1)}: no target column left; pass --target")
    if sep == ";":  # a spreadsheet of decimal commas (csv_text): 1234,5 is 1234.5
        for col in [*targets, *covariates, *future_covariates]:
            frame[col] = decimal_point(frame[col].astype(str).str.strip())
    if time_col:  # 03/04/2015: the day or the month first, decided once; 2015Q1, 2015M01, 2015-W01 (dates.py)
        iso = day_or_month_first(where, frame, time_col, group_col)
        iso = period_labels(where, frame, time_col) if iso is None else iso
        frame[time_col] = frame[time_col] if iso is None else iso
    extra = (list(covariates), freq, missing, list(future_covariates), with_ahead)
    if group_col is None:
        return [_one_series(where, path.stem, frame, time_col, targets, *extra)]
    blank = np.flatnonzero((frame[group_col].str.strip() == "").to_numpy())  # "NA" may be a name (Namibia)
    if blank.size:  # an empty group: no series to put the row in
        raise DataError(f"{_where(where, int(frame.index[blank[0]]), group_col)}: the group is empty; "
                        "every row needs one")
    out = []
    for key, part in frame.groupby(group_col, sort=False):
        out.append(_one_series(where, str(key), part, time_col, targets, *extra))
    return out

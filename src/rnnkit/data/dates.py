"""Dates as people write them: the day or the month first, and periods named as statistics offices name them.

03/04/2015 is 3 April in Europe and March 4 in the US.

pandas reads such a column month first, and with ``format="mixed"`` it reads each cell on its own, so
a European monthly file (01/01/2015, 01/02/2015, ...) became 1, 2, ... January, and 13/01/2015 in a
daily one became 13 January beside 2 January for 02/01/2015. ``day_or_month_first`` decides once for
the whole column:

    cells = day_or_month_first(where, frame, "date", group_col)   # ISO text, or None: not such a column

Both orders are tried on every cell; an order that cannot read every cell (13/01 month first) is out.
Of those left, the one under which each series' stamps form a regular grid (``pd.infer_freq``
finds a step) is taken. When both orders read every cell, give regular grids and disagree (twelve
monthly rows on the 1st read as twelve days of January), the file cannot tell: a one-line
``DataError`` asks for ISO dates (2015-04-03).

Periods written as labels (``period_labels``): quarters ``2015Q1`` or ``2015-Q1`` (pandas reads them only with a
deprecation warning that it will stop), months ``2015M01`` (Eurostat, the IMF) and ISO weeks ``2015-W01`` or
``2015W01`` (which pandas does not read) become the timestamps where each period starts (the week's Monday).
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd

from rnnkit.data.csv_text import where
from rnnkit.errors import DataError

__all__ = ["day_or_month_first", "period_labels"]

DMY = re.compile(r"\d{1,2}([/.\-])\d{1,2}\1\d{2}(\d{2})?(\s+\d{1,2}:\d{2}(:\d{2})?)?")  # 03/04/2015, 3.4.15 10:00
ORDERS = (("month", False), ("day", True))  # pandas' own order first
LABELS = (  # (pattern with year and number groups, the range of the number, how a start is written)
    (re.compile(r"(\d{4})-?[Qq](\d)"), 4, lambda y, k: f"{y}-{3 * k - 2:02d}-01"),
    (re.compile(r"(\d{4})-?M(\d{1,2})"), 12, lambda y, k: f"{y}-{k:02d}-01"),
    (re.compile(r"(\d{4})-?W(\d{1,2})"), 53, None),  # ISO weeks: the Monday, by %G-W%V-%u
)


def _regular(stamps: pd.Series, groups) -> bool:
    """Whether the stamps of every group of three or more form a grid pandas names a step for."""
    for _, g in stamps.groupby(groups, sort=False) if groups is not None else [(None, stamps)]:
        g = g.sort_values()
        if len(g) < 3:
            continue
        with warnings.catch_warnings():  # pandas 3 warns that infer_freq will return an offset
            warnings.simplefilter("ignore")
            if g.duplicated().any() or pd.infer_freq(pd.DatetimeIndex(g)) is None:
                return False
    return True


def day_or_month_first(path: str, frame: pd.DataFrame, col: str, group_col: str | None) -> pd.Series | None:
    """The time column as ISO text (the module doc's choice), or None when its cells are not all dates of
    numbers in either order (ISO dates, month names, integer steps: read as they were)."""
    cells = frame[col].astype(str).str.strip()
    if not cells.str.fullmatch(DMY).all():
        return None
    groups = frame[group_col] if group_col else None
    read = {}
    for name, dayfirst in ORDERS:
        with warnings.catch_warnings():  # "Parsing dates in %d/%m/%Y format when dayfirst=False"
            warnings.simplefilter("ignore")
            stamps = pd.to_datetime(cells, dayfirst=dayfirst, errors="coerce")  # one format, from the first cell
        if stamps.notna().all():
            read[name] = stamps
    if not read:
        return None  # no one order reads them all: the cell-by-cell reader names the first bad cell
    regular = {name: s for name, s in read.items() if _regular(s, groups)}
    chosen = regular or read  # irregular either way: the gap check will name the rows
    if len(chosen) == 2 and not chosen["month"].equals(chosen["day"]):
        if not regular:
            chosen = {"month": read["month"]}  # neither gives a grid: pandas' order, as before
        else:
            raise DataError(f"{where(path, None, col)}: dates like {cells.iloc[0]!r} read as a regular series both "
                            "day first and month first; write them as year-month-day (2015-04-03)")
    return next(iter(chosen.values())).dt.strftime("%Y-%m-%d %H:%M:%S")


def period_labels(path: str, frame: pd.DataFrame, col: str) -> pd.Series | None:
    """The time column as ISO text of each period's start when every cell is a quarter, month or ISO week label
    of one kind (module doc), else None. A number out of its range (2015Q5, 2015M13, 2015-W54) is one line."""
    cells = frame[col].astype(str).str.strip()
    for pattern, top, start in LABELS:
        parts = cells.str.fullmatch(pattern.pattern)
        if not parts.all():
            continue
        found = cells.str.extract(pattern.pattern)
        years, numbers = found[0].astype(int), found[1].astype(int)
        bad = np.flatnonzero(((numbers < 1) | (numbers > top)).to_numpy())
        if start is None:  # ISO weeks: week 53 exists in some years only, so strptime decides
            stamps = pd.to_datetime(years.astype(str) + "-W" + numbers.astype(str).str.zfill(2) + "-1",
                                    format="%G-W%V-%u", errors="coerce")
            bad = np.union1d(bad, np.flatnonzero(stamps.isna().to_numpy()))
            text = stamps.dt.strftime("%Y-%m-%d")
        else:
            text = pd.Series([start(y, k) for y, k in zip(years, numbers)], index=cells.index)
        if bad.size:
            i = int(bad[0])
            raise DataError(f"{where(path, int(frame.index[i]), col)}: {cells.iloc[i]!r} names no period "
                            f"(a number from 1 to {top} after the year)")
        return text
    return None

"""Dates written with the day or the month first: 03/04/2015 is 3 April in Europe and March 4 in the US.

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
"""

from __future__ import annotations

import re
import warnings

import pandas as pd

from rnnkit.data.csv_text import where
from rnnkit.errors import DataError

__all__ = ["day_or_month_first"]

DMY = re.compile(r"\d{1,2}([/.\-])\d{1,2}\1\d{2}(\d{2})?(\s+\d{1,2}:\d{2}(:\d{2})?)?")  # 03/04/2015, 3.4.15 10:00
ORDERS = (("month", False), ("day", True))  # pandas' own order first


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

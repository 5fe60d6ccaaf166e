"""Property: any CSV either parses into validated series or raises the one-line DataError.

Hypothesis writes CSV files from a grammar of troublesome pieces (ragged rows, quotes,
embedded newlines, duplicate or empty headers, NA spellings, inf, dates, integers out
of order, non-UTF-8 bytes, BOMs, blank lines) and from raw bytes, then calls the
forecasting reader with random options. Anything but a result or a one-line DataError
fails the test.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

hypothesis = pytest.importorskip("hypothesis")
timeseries = pytest.importorskip("rnnkit.data.timeseries")
csv_text = pytest.importorskip("rnnkit.data.csv_text")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from rnnkit.errors import DataError  # noqa: E402

pytestmark = pytest.mark.bad_csv

CELLS = st.one_of(
    st.integers(-10**6, 10**6).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["", "NA", "nan", "N/A", "null", "inf", "-inf", "1e309", "0x10", "1,5", "  3 ",
                     "2020-01-01", "2020-02-30", "2021-13-01", "1999-12-31T23:00", "01/02/2003",
                     '"quoted, comma"', '"line\nbreak"', '"unclosed', "é", "\u00a0", "True"]),
    st.text(max_size=6),
)
NAMES = st.one_of(st.sampled_from(["t", "y", "x", "g", "value", "", " t ", "y"]), st.text(max_size=4))


@st.composite
def csv_files(draw) -> bytes:
    width = draw(st.integers(1, 4))
    header = draw(st.lists(NAMES, min_size=width, max_size=width))
    rows = []
    for i in range(draw(st.integers(0, 12))):
        if draw(st.booleans()) and i < 10:  # a tidy time step, to reach the deeper checks
            row = [str(i * draw(st.sampled_from([1, 1, 2, -1])))] + draw(
                st.lists(CELLS, min_size=width - 1, max_size=width - 1))
        else:
            row = draw(st.lists(CELLS, min_size=max(width - 1, 0), max_size=width + 1))  # maybe ragged
        rows.append(",".join(row))
        if draw(st.integers(0, 9)) == 0:
            rows.append("")  # a blank line
    text = "\n".join([",".join(header)] + rows) + draw(st.sampled_from(["", "\n", "\r\n"]))
    data = text.encode("utf-8", errors="surrogatepass")
    extra = draw(st.sampled_from([None, "bom", "latin1", "nul", "crlf"]))
    if extra == "bom":
        data = b"\xef\xbb\xbf" + data
    elif extra == "latin1":
        data = data + b"\nx,\xe9\xff"
    elif extra == "nul":
        data = data.replace(b",", b"\x00", 1)
    elif extra == "crlf":
        data = data.replace(b"\n", b"\r\n")
    return data


OPTIONS = st.fixed_dictionaries({
    "time_col": st.sampled_from([None, "t", "x"]),
    "targets": st.sampled_from([None, "y", ["y", "x"], "missing"]),
    "missing": st.sampled_from(["error", "interpolate", "ffill"]),
    "group_col": st.sampled_from([None, None, "g"]),
    "freq": st.sampled_from([None, None, 1, "D", "bogus"]),
})


def _check(data: bytes, options: dict) -> None:
    fd, name = tempfile.mkstemp(suffix=".csv")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        try:
            result = timeseries.read_series(Path(name), **options)
        except DataError as err:
            message = str(err)
            assert message and "\n" not in message, repr(message)
            return
        assert isinstance(result, list) and result
        for series in result:
            assert series.values.ndim == 2 and len(series) == len(series.time)
    finally:
        os.unlink(name)


SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)


@settings(max_examples=150, **SETTINGS)
@given(csv_files(), OPTIONS)
def test_csv_parses_or_raises_one_line_data_error(data, options):
    _check(data, options)


@settings(max_examples=60, **SETTINGS)
@given(st.binary(max_size=200), OPTIONS)
def test_random_bytes_parse_or_raise_one_line_data_error(data, options):
    _check(data, options)


@pytest.mark.slow
@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(csv_files(), OPTIONS)
def test_csv_property_long_run(data, options):
    _check(data, options)


@pytest.mark.parametrize("data", [b"0\r0", b"t,y\r1,2\r\r2,3\r", b"y\r1\r2\n3\n"])
def test_bare_carriage_return_line_ends_parse_or_raise_one_line_data_error(data):
    """Old-Mac line ends (a bare \\r), alone or mixed: the slow property run found that
    the row-number pass read them without newline="" and raised csv.Error."""
    _check(data, {"time_col": None, "targets": None, "missing": "error", "group_col": None, "freq": None})
    rows = csv_text.data_rows(data.decode())
    assert rows == sorted(rows) and all(r >= 2 for r in rows)

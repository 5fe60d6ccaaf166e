"""CSV -> Series: frequency, integer steps, groups, and the --missing policies on real gaps (co2)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rnnkit.data.timeseries import next_times, read_series
from rnnkit.datasets import dataset_path
from rnnkit.errors import DataError

CO2 = dataset_path("forecasting", "co2_weekly.csv")


def test_co2_error_policy_names_the_rows():
    with pytest.raises(DataError) as err:
        read_series(CO2, "co2", "week")
    assert str(err.value) == (
        f"{CO2}, column 'co2': 59 missing values at rows 8, 11, 12, 13, 14, 15, 23, 26 and 51 more; "
        "pass --missing interpolate or --missing ffill"
    )


def test_co2_interpolate_and_ffill_fill_the_real_gaps():
    raw = pd.read_csv(CO2)["co2"].to_numpy()
    gaps = np.flatnonzero(np.isnan(raw))
    assert gaps.size == 59
    (lin,) = read_series(CO2, "co2", "week", missing="interpolate")
    (ff,) = read_series(CO2, "co2", "week", missing="ffill")
    assert lin.freq == "W-SAT" and len(lin) == 2284 and lin.filled == 59
    assert not np.isnan(lin.values).any() and not np.isnan(ff.values).any()
    # Row 8 of the file (index 6) is a lone gap between 317.5 (index 5)... and its neighbour.
    i = 6
    assert np.isnan(raw[i]) and not np.isnan(raw[i - 1]) and not np.isnan(raw[i + 1])
    assert lin.values[i, 0] == pytest.approx((raw[i - 1] + raw[i + 1]) / 2)
    assert ff.values[i, 0] == raw[i - 1]
    # Values that were present are untouched by either policy.
    keep = ~np.isnan(raw)
    assert np.array_equal(lin.values[keep, 0], raw[keep]) and np.array_equal(
        ff.values[keep, 0], raw[keep]
    )


def test_missing_rows_become_gaps_that_the_policy_fills(tmp_path):
    path = tmp_path / "g.csv"
    path.write_text("d,y\n2020-01-01,1\n2020-01-02,2\n2020-01-05,5\n2020-01-06,6\n")
    with pytest.raises(DataError, match=r"2 missing time steps \(gaps in the D grid\) after row 3"):
        read_series(path, "y", "d")
    (s,) = read_series(path, "y", "d", missing="interpolate")
    assert list(s.values[:, 0]) == [1, 2, 3, 4, 5, 6]
    (s,) = read_series(path, "y", "d", missing="ffill")
    assert list(s.values[:, 0]) == [1, 2, 2, 2, 5, 6]


def test_integer_steps_and_bundled_frequencies():
    (sun,) = read_series(dataset_path("forecasting", "sunspots_yearly.csv"), "sunspots", "year")
    assert sun.freq == 1 and sun.time[0] == 1700 and not sun.is_datetime
    assert list(next_times(sun.time, sun.freq, 2)) == [2009, 2010]
    (air,) = read_series(
        dataset_path("forecasting", "airline_passengers.csv"), "Passengers", "Date"
    )
    assert air.freq == "MS" and len(air) == 144
    assert str(next_times(air.time, air.freq, 1)[0].date()) == "1961-01-01"


def test_groups_targets_and_covariates(tmp_path):
    path = tmp_path / "multi.csv"
    rows = ["id,t,y,x"] + [
        f"{g},{t},{t * (2 if g == 'b' else 1)},{t % 3}" for g in "ab" for t in range(5)
    ]
    path.write_text("\n".join(rows) + "\n")
    a, b = read_series(path, "y", "t", group_col="id", covariates=["x"])
    assert (a.name, b.name) == ("a", "b")
    assert list(b.values[:, 0]) == [0, 2, 4, 6, 8]
    assert a.covariates.shape == (5, 1) and a.covariate_names == ["x"]


def test_an_empty_group_cell_is_named_and_NA_is_a_name(tmp_path):
    path = tmp_path / "groups.csv"
    rows = ["id,t,y"] + [f"{g},{t},{t}" for g in ("a", "NA") for t in range(5)]
    path.write_text("\n".join(rows) + "\n")
    assert [s.name for s in read_series(path, "y", "t", group_col="id")] == ["a", "NA"]  # Namibia, not missing
    rows[3] = " ,2,2"  # file row 4
    path.write_text("\n".join(rows) + "\n")
    with pytest.raises(DataError, match="^.*groups.csv, row 4, column 'id': the group is empty; every row needs one$"):
        read_series(path, "y", "t", group_col="id")


def test_default_targets_exclude_time_and_group(tmp_path):
    path = tmp_path / "two.csv"
    path.write_text("t,u,v\n1,1,2\n2,3,4\n3,5,6\n")
    (s,) = read_series(path, None, "t")
    assert s.targets == ["u", "v"] and s.values.shape == (3, 2)


def _monthly(n=30):
    t = pd.date_range("2015-01-01", periods=n, freq="MS")
    return t, 100 + 10 * np.sin(2 * np.pi * np.arange(n) / 12) + 0.25 * np.arange(n)


def test_a_spreadsheet_of_semicolons_decimal_commas_and_day_first_dates(tmp_path):
    """A German or French spreadsheet's CSV (';' between fields, '1234,5', 01/02/2015 for 1 February) was
    'row 2: has 2 fields but the header has 1'; it reads as the same series as its ISO, comma twin."""
    t, y = _monthly()
    iso = tmp_path / "iso.csv"
    pd.DataFrame({"date": t.strftime("%Y-%m-%d"), "sales": y, "price": y / 10}).to_csv(iso, index=False)
    euro = tmp_path / "euro.csv"
    pd.DataFrame({"Datum": t.strftime("%d/%m/%Y"), "sales": y, "price": y / 10}).to_csv(
        euro, sep=";", decimal=",", index=False)
    assert "01/02/2015;" in euro.read_text() and "," in euro.read_text()
    (a,) = read_series(iso, "sales", "date", covariates=["price"])
    (b,) = read_series(euro, "sales", "Datum", covariates=["price"])
    assert b.freq == a.freq and list(b.time) == list(a.time)
    np.testing.assert_array_equal(b.values, a.values)
    np.testing.assert_array_equal(b.covariates, a.covariates)
    tab = tmp_path / "tab.csv"
    pd.DataFrame({"date": t.strftime("%Y-%m-%d"), "sales": y}).to_csv(tab, sep="\t", index=False)
    np.testing.assert_array_equal(read_series(tab, "sales", "date")[0].values, a.values)
    # a decimal comma in a comma-separated file is still a mistake, named as before
    bad = tmp_path / "bad.csv"
    bad.write_text('date,sales\n2015-01-01,"100,5"\n2015-02-01,101\n2015-03-01,102\n')
    with pytest.raises(DataError, match=r"bad.csv, row 2, column 'sales': '100,5' is not a number"):
        read_series(bad, "sales", "date")


def test_day_or_month_first_is_decided_once_for_the_column(tmp_path):
    """pandas read each cell on its own: in a daily European file 02/01/2015 was 1 February and 13/01/2015
    13 January. The order that reads every cell into a regular grid is taken, for every group alike."""
    days = pd.date_range("2015-01-01", periods=40, freq="D")
    daily = tmp_path / "daily.csv"
    frame = pd.DataFrame({"shop": np.repeat(["a", "b"], 40), "date": np.tile(days.strftime("%d/%m/%Y"), 2),
                          "sales": np.arange(80.0)})
    frame.to_csv(daily, index=False)
    a, b = read_series(daily, "sales", "date", group_col="shop")
    assert list(a.time) == list(days) and list(b.time) == list(days)
    us = tmp_path / "us.csv"
    pd.DataFrame({"date": days.strftime("%m/%d/%Y"), "sales": np.arange(40.0)}).to_csv(us, index=False)
    assert list(read_series(us, "sales", "date")[0].time) == list(days)
    t, y = _monthly(30)
    months = tmp_path / "months.csv"
    pd.DataFrame({"date": t.strftime("%d.%m.%Y"), "sales": y}).to_csv(months, index=False)
    (m,) = read_series(months, "sales", "date")
    assert list(m.time) == list(t)  # read month first: 1..12 January of each year, not a grid
    # twelve monthly rows on the 1st are twelve days of January month first: the file cannot tell
    short = tmp_path / "short.csv"
    pd.DataFrame({"date": t[:12].strftime("%d/%m/%Y"), "sales": y[:12]}).to_csv(short, index=False)
    with pytest.raises(DataError, match=r"^.*short.csv, column 'date': dates like '01/01/2015' read as a regular "
                                        r"series both day first and month first; write them as year-month-day"):
        read_series(short, "sales", "date")


def test_compressed_utf16_and_workbook_files(tmp_path):
    """A gzip-compressed CSV and Excel's "Unicode text" (UTF-16, tab-separated) read as their plain twin;
    an Excel workbook or another zip archive is one line saying what it is (was 'byte 0x8b is not UTF-8')."""
    import gzip
    import zipfile

    t, y = _monthly(24)
    frame = pd.DataFrame({"date": t.strftime("%Y-%m-%d"), "sales": y})
    plain = tmp_path / "plain.csv"
    frame.to_csv(plain, index=False)
    (want,) = read_series(plain, "sales", "date")
    packed = tmp_path / "sales.csv.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    unicode_text = tmp_path / "unicode.txt"
    unicode_text.write_bytes(frame.to_csv(sep="\t", index=False).encode("utf-16"))  # with its byte-order mark
    for path in (packed, unicode_text):
        (got,) = read_series(path, "sales", "date")
        assert list(got.time) == list(want.time)
        np.testing.assert_array_equal(got.values, want.values)
    book = tmp_path / "book.xlsx"
    with zipfile.ZipFile(book, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", "<workbook/>")
    old = tmp_path / "old.xls"
    old.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(64))
    for path in (book, old):
        with pytest.raises(DataError, match=f"^{path}: an Excel workbook, not a CSV file; save the sheet as CSV"):
            read_series(path, "sales", "date")
    archive = tmp_path / "data.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.write(plain, "plain.csv")
    with pytest.raises(DataError, match=f"^{archive}: a zip archive, not a CSV file; unzip it first$"):
        read_series(archive, "sales", "date")
    broken = tmp_path / "broken.csv.gz"
    broken.write_bytes(gzip.compress(plain.read_bytes())[:30])
    with pytest.raises(DataError, match=f"^{broken}: a damaged gzip file"):
        read_series(broken, "sales", "date")


def test_quarter_month_and_week_labels_are_read_as_their_periods(tmp_path):
    """2015Q1 was read by pandas with a deprecation warning (printed by the CLI), 2015M01 (Eurostat, the IMF) and
    2015-W01 (ISO weeks) not at all ("is neither a date nor an integer step"); each is its period's start."""
    import warnings

    y = np.arange(60.0) + 100
    quarters = pd.period_range("2000Q1", periods=40, freq="Q")
    months = pd.period_range("2000-01", periods=60, freq="M")
    weeks = pd.date_range("2014-12-29", periods=60, freq="W-MON")  # ISO week 2015-W01 starts on 29 December 2014
    cases = [
        (quarters.strftime("%YQ%q"), quarters.to_timestamp(), y[:40]),
        (quarters.strftime("%Y-Q%q"), quarters.to_timestamp(), y[:40]),
        (months.strftime("%YM%m"), months.to_timestamp(), y),
        (weeks.strftime("%G-W%V"), weeks, y),
        (weeks.strftime("%GW%V"), weeks, y),
    ]
    for i, (labels, starts, values) in enumerate(cases):
        path = tmp_path / f"p{i}.csv"
        pd.DataFrame({"t": labels, "v": values}).to_csv(path, index=False)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no pandas deprecation warning on the way
            (s,) = read_series(path, "v", "t")
        assert list(s.time) == list(starts), labels[0]
    assert "2015-W53" in list(weeks.strftime("%G-W%V"))  # 2015 has 53 ISO weeks; the labels above cross it
    for bad, message in (("2001Q5", "'2001Q5' names no period"), ("2016-W53", "'2016-W53' names no period")):
        path = tmp_path / "bad.csv"
        good = "2001Q1" if "Q" in bad else "2016-W01"
        path.write_text(f"t,v\n{good},1\n{bad},2\n")
        with pytest.raises(DataError, match=f"bad.csv, row 3, column 't': {message} \\(a number from 1 to"):
            read_series(path, "v", "t")

"""Bad CSVs through `rnnkit forecast train`: one line naming file/row/column, exit 2, no traceback."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from rnnkit.cli.app import app

runner = CliRunner()


def _monthly(n: int, start: str = "2000-01") -> list[str]:
    import pandas as pd

    return [d.strftime("%Y-%m") for d in pd.date_range(start, periods=n, freq="MS")]


def _csv(rows, header="t,y") -> str:
    return header + "\n" + "\n".join(rows) + "\n"


GOOD_30 = [f"{t},{10 + i % 12 + i * 0.1:.1f}" for i, t in enumerate(_monthly(30))]

# (case id, file content (str or bytes), extra CLI args, expected message after "error: {path}")
CASES = [
    (
        "nan",
        _csv(GOOD_30[:5] + ["2000-06,nan"] + GOOD_30[6:]),
        [],
        ", column 'y': 1 missing value at row 7; pass --missing interpolate or --missing ffill",
    ),
    (
        "empty-cells",
        _csv(GOOD_30[:3] + ["2000-04,", "2000-05,"] + GOOD_30[5:]),
        [],
        ", column 'y': 2 missing values at rows 5, 6; pass --missing interpolate or --missing ffill",
    ),
    (
        "non-numeric",
        _csv(GOOD_30[:2] + ["2000-03,abc"] + GOOD_30[3:]),
        [],
        ", row 4, column 'y': 'abc' is not a number",
    ),
    (
        "ragged",
        _csv(GOOD_30[:1] + ["2000-02,1,2"] + GOOD_30[2:]),
        [],
        ", row 3: has 3 fields but the header has 2",
    ),
    (
        "ragged-short",
        _csv(GOOD_30[:4] + ["2000-05"] + GOOD_30[5:]),
        [],
        ", row 6: has 1 fields but the header has 2",
    ),
    (
        "missing-target",
        _csv(GOOD_30),
        ["--target", "sales"],
        ", row 1, column 'sales': no such column; the header has t, y",
    ),
    (
        "missing-time-col",
        _csv(GOOD_30),
        ["--time-col", "date"],
        ", row 1, column 'date': no such column; the header has t, y",
    ),
    (
        "duplicate-times",
        _csv(GOOD_30[:3] + [GOOD_30[2]] + GOOD_30[3:]),
        [],
        ", row 5, column 't': duplicate time '2000-03-01 00:00:00' (also row 4); "
        "keep one row per time or aggregate them",
    ),
    (
        "unsorted",
        _csv(GOOD_30[:2] + [GOOD_30[3], GOOD_30[2]] + GOOD_30[4:]),
        [],
        ", row 5, column 't': time '2000-03-01 00:00:00' comes before the previous row's "
        "'2000-04-01 00:00:00'; sort the file by time",
    ),
    (
        "gaps",
        _csv(GOOD_30[:10] + GOOD_30[12:]),
        [],
        ", column 't': 2 missing time steps (gaps in the MS grid) after row 11, first "
        "'2000-11-01 00:00:00'; pass --missing interpolate or --missing ffill",
    ),
    (
        "off-grid",
        _csv(GOOD_30[:10] + ["2000-11-15,3"] + GOOD_30[11:]),
        [],
        ", row 12, column 't': time '2000-11-15 00:00:00' is off the MS grid that starts at "
        "'2000-01-01 00:00:00'; pass --freq or fix the time",
    ),
    (
        "bad-date",
        _csv(GOOD_30[:6] + ["soon,3"] + GOOD_30[7:]),
        [],
        ", row 8, column 't': 'soon' is neither a date nor an integer step",
    ),
    ("empty-file", "", [], ": the file is empty; expected a header row and data rows"),
    ("header-only", "t,y\n", [], ": has a header but no data rows"),
    (
        "non-utf8",
        b"t,y\n2000-01,1\n2000-02,\xff\xfe\n",
        [],
        ", row 3: byte 0xff is not UTF-8; save the file as UTF-8",
    ),
    (
        "horizon-too-long",
        _csv(GOOD_30),
        ["--horizon", "40"],
        ": --horizon 40 is longer than the data (30 points)",
    ),
    (
        "test-size-too-long",
        _csv(GOOD_30),
        ["--test-size", "30"],
        ": --test-size 30 is longer than the data (30 points)",
    ),
]


@pytest.mark.parametrize(
    "content, extra, expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_bad_csv_is_one_line_exit_2(tmp_path, content, extra, expected):
    path = tmp_path / "bad.csv"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    args = [
        "forecast",
        "train",
        "--data",
        str(path),
        "--time-col",
        "t",
        "--horizon",
        "3",
        "--season",
        "12",
        "--out",
        str(tmp_path / "run"),
        *extra,
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert result.stderr == f"error: {path}{expected}\n"
    assert "Traceback" not in result.output
    assert not (tmp_path / "run" / "model").exists()


def test_at_least_twelve_cases():
    assert len(CASES) >= 12


def test_bad_missing_policy_names_the_key(tmp_path):
    path = tmp_path / "ok.csv"
    path.write_text(_csv(GOOD_30))
    result = runner.invoke(
        app,
        [
            "forecast",
            "train",
            "--data",
            str(path),
            "--horizon",
            "3",
            "--missing",
            "drop",
            "--out",
            str(tmp_path / "r"),
        ],
    )
    assert result.exit_code == 2
    assert result.stderr == (
        "error: data.missing must be one of 'auto' | 'error' | 'interpolate' | 'ffill', got 'drop'\n"
    )

"""The .ts reader: the bundled JapaneseVowels files, round trips, and one-line errors."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rnnkit.data.ts_format import read_ts, write_ts
from rnnkit.errors import DataError

BUNDLED = Path(__file__).resolve().parents[2] / "src" / "rnnkit" / "datasets" / "classification"

HEADER = """# a comment
@problemName tiny
@timeStamps false
@missing false
@univariate false
@dimensions 2
@equalLength false
@classLabel true a b
@data
"""


def _write(tmp_path: Path, body: str, header: str = HEADER) -> Path:
    path = tmp_path / "x.ts"
    path.write_text(header + body)
    return path


def test_reads_bundled_japanese_vowels():
    train = read_ts(BUNDLED / "JapaneseVowels_TRAIN.ts")
    test = read_ts(BUNDLED / "JapaneseVowels_TEST.ts")
    assert (len(train), len(test)) == (270, 370)  # as documented by UCI
    assert train.n_dims == test.n_dims == 12
    assert train.class_labels == tuple(str(k) for k in range(1, 10))
    assert {train.labels.count(str(k)) for k in range(1, 10)} == {30}
    lengths = [s.shape[0] for s in train.series + test.series]
    assert min(lengths) >= 7 and max(lengths) <= 29
    # First value of the first case, as printed in the file itself.
    first_line = (BUNDLED / "JapaneseVowels_TRAIN.ts").read_text().splitlines()[train.lines[0] - 1]
    assert train.series[0][0, 0] == float(first_line.split(",")[0])
    assert train.series[0][0, 1] == float(first_line.split(":")[1].split(",")[0])


def test_variable_length_cases_and_labels(tmp_path):
    data = read_ts(_write(tmp_path, "1,2,3:4,5,6:a\n\n7,8:9,10:b\n"))
    assert data.labels == ["a", "b"]
    np.testing.assert_array_equal(data.series[0], [[1, 4], [2, 5], [3, 6]])
    np.testing.assert_array_equal(data.series[1], [[7, 9], [8, 10]])
    assert data.lines == [10, 12]


def test_unlabelled_and_missing_values(tmp_path):
    header = HEADER.replace("@classLabel true a b", "@classLabel false").replace("@missing false", "@missing true")
    data = read_ts(_write(tmp_path, "1,?:3,4\n", header))
    assert data.labels is None and data.class_labels is None
    assert np.isnan(data.series[0][1, 0]) and data.series[0][1, 1] == 4


def test_write_then_read_round_trip(tmp_path, rng):
    series = [rng.normal(size=(t, 3)) for t in (4, 1, 6)]
    path = write_ts(tmp_path / "r.ts", series, ["x", "y", "x"])
    back = read_ts(path)
    assert back.labels == ["x", "y", "x"] and back.class_labels == ("x", "y")
    for a, b in zip(series, back.series):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    "body, message",
    [
        ("1,2:3,x:a\n", "x.ts:10: dimension 2, value 2 is not a number: 'x'"),
        ("1,2:3,4:5,6:a\n", "x.ts:10: case has 3 dimensions but @dimensions says 2"),
        ("1,2:3:a\n", "x.ts:10: the dimensions of one case differ in length (2, 1 values)"),
        ("1,2:3,4:c\n", "x.ts:10: class label 'c' is not declared by @classLabel (a b)"),
        ("1,?:3,4:a\n", "x.ts:10: dimension 1, value 2 is missing ('?') but the header says @missing false"),
        ("1,,2:3,4,5:a\n", "x.ts:10: dimension 1, value 2 is empty"),
        ("(0,1),(1,2):(0,3),(1,4):a\n", "x.ts:10: dimension 1 holds a timestamped value '(0'; @timeStamps true files are not supported"),
        ("", "x.ts: no cases after @data"),
    ],
)
def test_malformed_data_lines_name_file_and_line(tmp_path, body, message):
    with pytest.raises(DataError) as err:
        read_ts(_write(tmp_path, body))
    assert str(err.value) == f"{tmp_path}/{message}"


def test_inconsistent_dimensions_between_cases(tmp_path):
    header = HEADER.replace("@dimensions 2\n", "")
    with pytest.raises(DataError, match=r"x\.ts:10: case has 1 dimensions but earlier cases have 2$"):
        read_ts(_write(tmp_path, "1,2:3,4:a\n5,6:b\n", header))


@pytest.mark.parametrize(
    "header, message",
    [
        ("@problemName p\n@bogus 1\n@data\n", "x.ts:2: unknown header tag @bogus"),
        ("@problemName p\n@data\n", "x.ts:2: @data before @classLabel; the header must say @classLabel true|false"),
        ("@missing maybe\n", "x.ts:1: @missing must be 'true' or 'false', got 'maybe'"),
        ("@dimensions two\n", "x.ts:1: @dimensions must be a positive integer, got 'two'"),
        ("@classLabel true\n", "x.ts:1: @classLabel true must list the class labels"),
        ("hello\n", "x.ts:1: expected a '@tag' header line or '#' comment before @data, got 'hello'"),
        ("@classLabel false\n", "x.ts: no @data line; is this a .ts file?"),
        ("@timeStamps true\n@classLabel false\n@data\n", "x.ts:3: @timeStamps true files are not supported"),
    ],
)
def test_malformed_headers(tmp_path, header, message):
    with pytest.raises(DataError) as err:
        read_ts(_write(tmp_path, "", header))
    assert str(err.value) == f"{tmp_path}/{message}"


def test_missing_and_binary_files(tmp_path):
    with pytest.raises(DataError, match=r"nope\.ts: no such \.ts file$"):
        read_ts(tmp_path / "nope.ts")
    (tmp_path / "bin.ts").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(DataError, match=r"bin\.ts: not a UTF-8 text file"):
        read_ts(tmp_path / "bin.ts")

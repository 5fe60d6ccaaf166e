"""The UCR archive's .tsv reader: the same cases as the .ts format holds, padding dropped, one-line errors,
and `rnnkit classify` reading it."""
from __future__ import annotations

import numpy as np
import pytest

from rnnkit.data.classify_inputs import input_kind, load_labelled, load_unlabelled
from rnnkit.data.audio import AudioConfig
from rnnkit.data.ts_format import read_ts, write_ts
from rnnkit.data.ucr_format import read_ucr
from rnnkit.errors import DataError


def _cases(n=6, seed=0):
    rng = np.random.default_rng(seed)
    series = [rng.normal(size=(20 + 3 * i, 1)).round(6) for i in range(n)]  # unequal lengths
    labels = ["1" if i % 2 else "-1" for i in range(n)]
    return series, labels


def _tsv(path, series, labels, sep="\t"):
    width = max(len(s) for s in series)
    rows = [[lab] + [f"{v:.6f}" for v in s[:, 0]] + ["NaN"] * (width - len(s)) for s, lab in zip(series, labels)]
    path.write_text("\n".join(sep.join(r) for r in rows) + "\n")
    return path


def test_a_ucr_tsv_holds_the_cases_its_ts_twin_holds(tmp_path):
    series, labels = _cases()
    ucr = read_ucr(_tsv(tmp_path / "X_TRAIN.tsv", series, labels))
    ts = read_ts(write_ts(tmp_path / "x.ts", series, labels, ["-1", "1"]))
    assert ucr.labels == ts.labels == labels and ucr.lines == [1, 2, 3, 4, 5, 6]
    for a, b in zip(ucr.series, ts.series):  # the NaN padding of the shorter cases is dropped
        np.testing.assert_array_equal(a, b)
    comma = read_ucr(_tsv(tmp_path / "old.tsv", series, [f"{float(v):.7e}" for v in labels], sep=","))
    assert comma.labels == labels  # the older archive: commas, labels written 1.0000000e+00
    assert input_kind(tmp_path / "X_TRAIN.tsv") == "ts"  # the kind of data a .ts holds
    data = load_labelled(tmp_path / "X_TRAIN.tsv", AudioConfig())
    assert data.kind == "ts" and data.labels == labels and data.features[1].shape == (23, 1)
    assert load_unlabelled([tmp_path / "X_TRAIN.tsv"], None).names[0] == f"{tmp_path / 'X_TRAIN.tsv'}:1"


@pytest.mark.parametrize("body, message", [
    ("1\t0.5\t0.7\n2\t0.1\tx\n", r"bad.tsv:2: value 'x' is not a number"),
    ("1\t0.5\tNaN\t0.7\n", r"bad.tsv:1: case has missing values \(NaN before its last value\)"),
    ("1\tNaN\tNaN\n", r"bad.tsv:1: the case has no values"),
    ("1\t0.5\tinf\n", r"bad.tsv:1: a value is infinite or beyond float32's range"),
    ("1\n", r"bad.tsv:1: expected a class label and the series' values separated by tabs"),
    ("\n\n", r"bad.tsv: no cases"),
])
def test_bad_tsv_files_are_one_line(tmp_path, body, message):
    path = tmp_path / "bad.tsv"
    path.write_text(body)
    with pytest.raises(DataError, match=message) as err:
        read_ucr(path)
    assert "\n" not in str(err.value)


def test_rnnkit_classify_trains_on_ucr_tsv_files_and_predicts_either_format(tmp_path):
    from typer.testing import CliRunner

    from rnnkit.cli.app import app

    series, labels = _cases(n=24, seed=1)
    series = [s + (3.0 if lab == "1" else -3.0) for s, lab in zip(series, labels)]  # separable by level
    train = _tsv(tmp_path / "S_TRAIN.tsv", series[:16], labels[:16])
    test = _tsv(tmp_path / "S_TEST.tsv", series[16:], labels[16:])
    out = tmp_path / "run"
    runner = CliRunner()
    result = runner.invoke(app, ["classify", "train", "--train", str(train), "--test", str(test), "--out", str(out),
                                 "--max-steps", "20", "--set", "model.hidden_size=8", "--set", "train.batch_size=8"])
    assert result.exit_code == 0, result.output
    assert "16 train" in result.output and "8 test sequences" in result.output
    write_ts(tmp_path / "same.ts", series[16:], labels[16:], ["-1", "1"])
    tsv = runner.invoke(app, ["classify", "predict", "--model", str(out), str(test)])
    ts = runner.invoke(app, ["classify", "predict", "--model", str(out), str(tmp_path / "same.ts")])
    assert tsv.exit_code == 0 and ts.exit_code == 0, tsv.output + ts.output
    assert [line.split("\t")[1:] for line in tsv.stdout.splitlines()] == [
        line.split("\t")[1:] for line in ts.stdout.splitlines()]  # the same cases, the same predictions


def test_a_byte_order_mark_is_not_part_of_the_first_line(tmp_path):
    """Windows tools write UTF-8 with a byte-order mark: the .ts reader refused the header ("expected a
    '@tag' header line ... got '\\ufeff#...'") and the first .tsv label read as '\\ufeff1'."""
    series, labels = _cases()
    tsv = _tsv(tmp_path / "plain.tsv", series, labels)
    marked = tmp_path / "marked.tsv"
    marked.write_text(tsv.read_text(), encoding="utf-8-sig")
    assert read_ucr(marked).labels == labels
    ts = write_ts(tmp_path / "plain.ts", series, labels, ["-1", "1"])
    windows = tmp_path / "windows.ts"
    windows.write_text(ts.read_text(), encoding="utf-8-sig", newline="\r\n")
    got = read_ts(windows)
    assert got.labels == labels and all(np.array_equal(a, b) for a, b in zip(got.series, read_ts(ts).series))

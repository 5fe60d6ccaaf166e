"""Faults 4, 5 and 10 (.ts part) of issue 15: data files that would exhaust memory or time,
or feed non-finite numbers to a model, are refused with one line before any work."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.io import wavfile

from rnnkit.data import audio, ts_format, wav
from rnnkit.errors import DataError


def _refusal(read, *args, **kwargs) -> str:
    """The one-line DataError that ``read(*args, **kwargs)`` raises."""
    with pytest.raises(DataError) as info:
        read(*args, **kwargs)
    return str(info.value)


@pytest.mark.parametrize("rate", [1, 999, 10_000_000])
def test_absurd_wav_sample_rate_is_refused_before_resampling(tmp_path, monkeypatch, rate):
    path = tmp_path / "a.wav"
    wavfile.write(path, rate, np.zeros(4000, dtype=np.int16))
    monkeypatch.setattr(wav, "resample", lambda *a: pytest.fail("resampled"))
    assert _refusal(wav.read_wav, path, 8000) == (f"{path}: declares a sample rate of {rate} Hz; "
                                                    "rnnkit reads 1000..384000 Hz")


def test_ordinary_wav_rates_still_read(tmp_path):
    path = tmp_path / "a.wav"
    wavfile.write(path, 16000, np.zeros(1600, dtype=np.int16))
    x, rate = wav.read_wav(path, 8000)
    assert rate == 8000 and x.shape == (800,)


def _ts(path, case: str):
    path.write_text("@problemName p\n@univariate true\n@classLabel true a b\n@data\n0,1,2:a\n" + case + "\n")
    return path


@pytest.mark.parametrize("case, message", [
    (",".join(["1"] * 200_000) + ":b",
     "dimension 1 has 200000 values; the limit is 50000 per case (downsample or split long series)"),
    ("1,inf,3:b", "dimension 1, value 2 is not finite: 'inf'"),
    ("1,-Infinity,3:b", "dimension 1, value 2 is not finite: '-Infinity'"),
    ("1,1e999,3:b", "dimension 1, value 2 is not finite: '1e999'"),
    ("1,2,1e300:b", "dimension 1, value 3 is too large for the model's float32: '1e300'"),
], ids=["200000-steps", "inf", "-Infinity", "1e999", "beyond-float32"])
def test_a_ts_case_too_long_or_not_finite_is_refused_with_its_line(tmp_path, case, message):
    path = _ts(tmp_path / "x.ts", case)
    assert _refusal(ts_format.read_ts, path) == f"{path}:6: {message}"


@pytest.mark.parametrize("rows, message", [  # found by the fuzzer (tests/faults/fuzz.py)
    ("0,1\n1,2\ninf,3\n", "row 4, column 't': time step 'inf' is not a usable integer (|step| < 2**53)"),
    ("0,1\n1,2\n1e300,3\n", "row 4, column 't': time step '1e300' is not a usable integer (|step| < 2**53)"),
    ("2020-01-01,1\n0202-01-08,2\n2020-01-03,3\n",
     "row 3, column 't': '0202-01-08' is outside the dates rnnkit handles (years 1678..2261)"),
    ("2020-01-01,1\n0001-01-01,2\n2020-01-03,3\n",
     "row 3, column 't': '0001-01-01' is outside the dates rnnkit handles (years 1678..2261)"),
    ("2020-01-01,1\n2300-01-01,2\n2020-01-03,3\n",
     "row 3, column 't': '2300-01-01' is outside the dates rnnkit handles (years 1678..2261)"),
], ids=["infinite-step", "huge-step", "year-202", "year-1", "year-2300"])
def test_an_unusable_time_value_is_one_line_naming_the_row(tmp_path, rows, message):
    from rnnkit.data.timeseries import read_series

    path = tmp_path / "t.csv"
    path.write_text("t,y\n" + rows)
    assert _refusal(read_series, path, None, "t") == f"{path}, {message}"


@pytest.mark.parametrize("field, value, message", [
    (22, 0, "declares 0 channels of 16 bits; not a usable WAV"),       # channels: scipy divided by zero
    (34, 0, "declares 1 channels of 0 bits; not a usable WAV"),        # bits per sample
    (12, 0x61746164, "not a readable WAV file (data chunk before the fmt chunk)"),  # 'data' first: scipy's
])                                                                     # UnboundLocalError
def test_broken_wav_headers_are_one_line(tmp_path, field, value, message):
    import struct

    path = tmp_path / "a.wav"
    wavfile.write(path, 8000, np.zeros(100, dtype=np.int16))
    data = bytearray(path.read_bytes())
    struct.pack_into("<H" if field in (22, 34) else "<I", data, field, value)
    path.write_bytes(bytes(data))
    assert _refusal(wav.read_wav, path, 8000) == f"{path}: {message}"


def test_audio_config_rate_from_a_model_json_is_bounded():
    assert _refusal(audio.AudioConfig, sample_rate=1) == "audio sample_rate must be in 1000..384000 Hz, got 1"

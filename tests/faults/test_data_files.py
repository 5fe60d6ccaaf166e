"""Faults 4, 5 and 10 (.ts part) of issue 15: data files that would exhaust memory or time,
or feed non-finite numbers to a model, are refused with one line before any work."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.io import wavfile

from rnnkit.data import audio, ts_format
from rnnkit.errors import DataError


@pytest.mark.parametrize("rate", [1, 999, 10_000_000])
def test_absurd_wav_sample_rate_is_refused_before_resampling(tmp_path, monkeypatch, rate):
    path = tmp_path / "a.wav"
    wavfile.write(path, rate, np.zeros(4000, dtype=np.int16))
    monkeypatch.setattr(audio, "resample", lambda *a: pytest.fail("resampled"))
    with pytest.raises(DataError) as info:
        audio.read_wav(path, 8000)
    assert str(info.value) == f"{path}: declares a sample rate of {rate} Hz; rnnkit reads 1000..384000 Hz"


def test_ordinary_wav_rates_still_read(tmp_path):
    path = tmp_path / "a.wav"
    wavfile.write(path, 16000, np.zeros(1600, dtype=np.int16))
    x, rate = audio.read_wav(path, 8000)
    assert rate == 8000 and x.shape == (800,)


def _ts(path, case: str):
    path.write_text("@problemName p\n@univariate true\n@classLabel true a b\n@data\n0,1,2:a\n" + case + "\n")
    return path


def test_a_200000_step_ts_case_is_refused_with_the_limit(tmp_path):
    path = _ts(tmp_path / "x.ts", ",".join(["1"] * 200_000) + ":b")
    with pytest.raises(DataError) as info:
        ts_format.read_ts(path)
    assert str(info.value) == (f"{path}:6: dimension 1 has 200000 values; the limit is 50000 per case "
                               "(downsample or split long series)")


@pytest.mark.parametrize("token", ["inf", "-Infinity", "1e999"])
def test_infinite_value_in_a_ts_case_is_refused(tmp_path, token):
    path = _ts(tmp_path / "x.ts", f"1,{token},3:b")
    with pytest.raises(DataError) as info:
        ts_format.read_ts(path)
    assert str(info.value) == f"{path}:6: dimension 1, value 2 is not finite: {token!r}"


def test_ts_value_beyond_float32_is_refused(tmp_path):
    path = _ts(tmp_path / "x.ts", "1,2,1e300:b")
    with pytest.raises(DataError) as info:
        ts_format.read_ts(path)
    assert str(info.value) == f"{path}:6: dimension 1, value 3 is too large for the model's float32: '1e300'"


@pytest.mark.parametrize("step", ["inf", "1e300"])
def test_integer_time_column_with_an_infinite_or_huge_step_is_one_line(tmp_path, step):
    from rnnkit.data.timeseries import read_series  # found by the fuzzer (tests/faults/fuzz.py)

    path = tmp_path / "t.csv"
    path.write_text(f"t,y\n0,1\n1,2\n{step},3\n")
    with pytest.raises(DataError) as info:
        read_series(path, None, "t")
    assert str(info.value) == f"{path}, row 4, column 't': time step {step!r} is not a usable integer (|step| < 2**53)"


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
    with pytest.raises(DataError) as info:
        audio.read_wav(path, 8000)
    assert str(info.value) == f"{path}: {message}"


def test_audio_config_rate_from_a_model_json_is_bounded():
    with pytest.raises(DataError) as info:
        audio.AudioConfig(sample_rate=1)
    assert str(info.value) == "audio sample_rate must be in 1000..384000 Hz, got 1"


@pytest.mark.parametrize("date", ["0202-01-08", "0001-01-01", "2300-01-01"])
def test_dates_outside_the_nanosecond_range_are_one_line(tmp_path, date):
    from rnnkit.data.timeseries import read_series  # found by the fuzzer (tests/faults/fuzz.py)

    path = tmp_path / "d.csv"
    path.write_text(f"t,y\n2020-01-01,1\n{date},2\n2020-01-03,3\n")
    with pytest.raises(DataError) as info:
        read_series(path, None, "t")
    assert str(info.value) == f"{path}, row 3, column 't': {date!r} is outside the dates rnnkit handles (years 1678..2261)"

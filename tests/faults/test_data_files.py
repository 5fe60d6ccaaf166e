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

"""WAV reading (mono/stereo, rates, bad files) and the log-mel/MFCC/delta front end."""
from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest
from scipy.io import wavfile

from rnnkit.data.audio import (
    AudioConfig,
    add_deltas,
    features_from_signal,
    hz_to_mel,
    mel_filterbank,
    mel_to_hz,
    normalize_utterance,
    read_wav,
    wav_features,
)
from rnnkit.errors import DataError

DIGITS = Path(__file__).resolve().parents[2] / "src" / "rnnkit" / "datasets" / "speech" / "spoken_digits_synth"


def _tone(rate: int, seconds: float, freq: float = 440.0) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def test_reads_bundled_wav_like_the_wave_module():
    path = DIGITS / "3_festival-kal-v2.wav"
    x, rate = read_wav(path)
    with wave.open(str(path)) as w:  # the standard library as an independent reader
        raw = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
        assert (w.getframerate(), w.getnchannels()) == (rate, 1)
    np.testing.assert_array_equal(x, raw.astype(np.float32) / 32768.0)


def test_sample_formats_scale_to_unit_range(tmp_path):
    wavfile.write(tmp_path / "u8.wav", 8000, np.array([0, 128, 255], dtype=np.uint8))
    wavfile.write(tmp_path / "f32.wav", 8000, np.array([-0.25, 0.0, 0.75], dtype=np.float32))
    wavfile.write(tmp_path / "i32.wav", 8000, np.array([-(2**31), 0, 2**30], dtype=np.int32))
    np.testing.assert_allclose(read_wav(tmp_path / "u8.wav")[0], [-1.0, 0.0, 127 / 128])
    np.testing.assert_allclose(read_wav(tmp_path / "f32.wav")[0], [-0.25, 0.0, 0.75])
    np.testing.assert_allclose(read_wav(tmp_path / "i32.wav")[0], [-1.0, 0.0, 0.5])


def test_stereo_is_mixed_to_mono_or_refused(tmp_path):
    left = np.array([1000, -2000, 300], dtype=np.int16)
    right = np.array([3000, 0, -300], dtype=np.int16)
    path = tmp_path / "st.wav"
    wavfile.write(path, 8000, np.stack([left, right], axis=1))
    x, _ = read_wav(path)
    np.testing.assert_allclose(x, (left / 32768.0 + right / 32768.0) / 2)
    with pytest.raises(DataError) as err:
        read_wav(path, stereo="refuse")
    assert str(err.value) == f"{path}: has 2 channels; only mono audio is accepted (stereo='refuse')"


def test_other_rate_is_resampled_keeping_pitch_or_refused(tmp_path):
    path = tmp_path / "16k.wav"
    wavfile.write(path, 16000, (_tone(16000, 0.5, 440.0) * 32767).astype(np.int16))
    x, rate = read_wav(path, sample_rate=8000)
    assert rate == 8000 and x.shape == (4000,)
    spectrum = np.abs(np.fft.rfft(x))
    assert np.fft.rfftfreq(x.size, 1 / 8000)[spectrum.argmax()] == pytest.approx(440.0, abs=2.0)
    with pytest.raises(DataError) as err:
        read_wav(path, sample_rate=8000, rate_mismatch="refuse")
    assert str(err.value) == f"{path}: sample rate is 16000 Hz but 8000 Hz is required (rate_mismatch='refuse')"


def test_zero_length_missing_and_non_wav_files(tmp_path):
    empty = tmp_path / "empty.wav"
    wavfile.write(empty, 8000, np.zeros(0, dtype=np.int16))
    with pytest.raises(DataError) as err:
        read_wav(empty)
    assert str(err.value) == f"{empty}: has zero audio samples"
    with pytest.raises(DataError) as err:
        read_wav(tmp_path / "gone.wav")
    assert str(err.value) == f"{tmp_path}/gone.wav: no such WAV file"
    fake = tmp_path / "fake.wav"
    fake.write_text("this is text, not audio\n")
    with pytest.raises(DataError) as err:
        read_wav(fake)
    assert str(err.value).startswith(f"{fake}: not a readable WAV file (")
    assert "\n" not in str(err.value)


def test_mel_scale_and_filterbank_shape():
    assert hz_to_mel(1000.0) == pytest.approx(1000.0, abs=0.05)  # HTK: 1000 Hz ~ 1000 mel
    assert mel_to_hz(hz_to_mel(3210.0)) == pytest.approx(3210.0)
    fb = mel_filterbank(8000, 256, 10, 0.0, 4000.0)  # (10, 129)
    assert fb.shape == (10, 129) and fb.min() >= 0 and fb.max() <= 1
    # Between the first and last centre, neighbouring triangles add up to 1.
    centres = mel_to_hz(np.linspace(hz_to_mel(0.0), hz_to_mel(4000.0), 12))[1:-1]
    bins = np.linspace(0, 4000, 129)
    inside = (bins >= centres[0]) & (bins <= centres[-1])
    np.testing.assert_allclose(fb[:, inside].sum(axis=0), 1.0, atol=1e-12)
    with pytest.raises(DataError, match=r"^mel filterbank needs 0 <= fmin < fmax <= 4000.0, got fmin=0.0, fmax=5000.0$"):
        mel_filterbank(8000, 256, 10, 0.0, 5000.0)


def test_front_end_matches_librosa():
    librosa = pytest.importorskip("librosa")  # optional: not a project dependency
    from rnnkit.data.audio import mfcc, power_spectrogram

    fb = mel_filterbank(8000, 256, 40, 20.0)
    ref = librosa.filters.mel(sr=8000, n_fft=256, n_mels=40, fmin=20.0, htk=True, norm=None)
    np.testing.assert_allclose(fb, ref, atol=1e-6)
    x = np.random.default_rng(1).normal(size=4000)
    power = power_spectrogram(x, 256, 80, 256)  # (T, 129)
    ref_power = np.abs(librosa.stft(x, n_fft=256, hop_length=80, window="hann", center=False)) ** 2
    np.testing.assert_allclose(power, ref_power.T, rtol=1e-9, atol=1e-9 * ref_power.max())
    logmel = np.log(np.maximum(power @ fb.T, 1e-10))
    ref_mfcc = librosa.feature.mfcc(S=logmel.T, n_mfcc=13, dct_type=2, norm="ortho")
    np.testing.assert_allclose(mfcc(logmel, 13), ref_mfcc.T, atol=1e-9)
    feats = np.random.default_rng(2).normal(size=(30, 13))
    np.testing.assert_allclose(
        add_deltas(feats, 1, 2)[:, 13:], librosa.feature.delta(feats.T, width=5, mode="nearest").T, atol=1e-12
    )


def test_deltas_follow_the_regression_formula():
    t = np.arange(20, dtype=np.float64)[:, None]
    feats = np.concatenate([3.0 * t, t**2], axis=1)  # (20, 2)
    out = add_deltas(feats, order=2, width=2)        # (20, 6)
    assert out.shape == (20, 6)
    np.testing.assert_array_equal(out[:, :2], feats)
    k = np.arange(1, 3)
    for i in range(2, 18):  # interior: sum_k k (c[t+k] - c[t-k]) / (2 sum k^2)
        want = (k * (feats[i + k] - feats[i - k]).T).sum(axis=1) / (2 * (k**2).sum())
        np.testing.assert_allclose(out[i, 2:4], want)
    np.testing.assert_allclose(out[4:16, 2], 3.0)  # slope of 3t
    np.testing.assert_allclose(out[6:14, 4], 0.0, atol=1e-12)  # delta of a constant


def test_normalize_utterance(rng):
    out = normalize_utterance(rng.normal(5.0, 3.0, size=(50, 4)))
    np.testing.assert_allclose(out.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(out.std(axis=0), 1.0, atol=1e-5)


def test_feature_shapes_and_short_signals():
    cfg = AudioConfig()  # 8 kHz, 25 ms / 10 ms -> W=200, S=80; 13 MFCC + 2 orders of deltas
    assert (cfg.win_length, cfg.hop_length, cfg.n_fft, cfg.n_features) == (200, 80, 256, 39)
    x = _tone(8000, 0.5)
    feats = features_from_signal(x, cfg)
    assert feats.shape == (1 + (4000 - 200) // 80, 39) and feats.dtype == np.float32
    assert features_from_signal(x[:50], cfg).shape == (1, 39)  # shorter than a window: one frame
    logmel = features_from_signal(x, AudioConfig(n_mfcc=0, deltas=0, normalize=False))
    assert logmel.shape[1] == 40
    # The 440 Hz tone peaks in the mel band whose centre is nearest 440 Hz.
    centres = mel_to_hz(np.linspace(hz_to_mel(20.0), hz_to_mel(4000.0), 42))[1:-1]
    assert logmel.mean(axis=0).argmax() == np.abs(centres - 440.0).argmin()


def test_wav_features_on_bundled_file():
    path = DIGITS / "0_flite-rms-v1.wav"
    with wave.open(str(path)) as w:
        n = w.getnframes()
    whole = wav_features(path, AudioConfig(trim_db=0))
    assert whole.shape == (1 + (n - 200) // 80, 39) and np.isfinite(whole).all()
    trimmed = wav_features(path)  # the 30 ms of silence at each end are trimmed
    assert trimmed.shape[1] == 39 and trimmed.shape[0] < whole.shape[0] and np.isfinite(trimmed).all()


def test_audio_config_rejects_bad_values():
    with pytest.raises(DataError, match=r"^audio stereo must be 'mix' or 'refuse', got 'left'$"):
        AudioConfig(stereo="left")
    with pytest.raises(DataError, match=r"^audio deltas must be 0, 1 or 2, got 3$"):
        AudioConfig(deltas=3)

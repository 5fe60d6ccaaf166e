"""Audio augmentation does what it promises: lengths, rates, SNR, gain, mask widths, seeds."""
from __future__ import annotations

import numpy as np
import pytest

from rnnkit.data.audio import AudioConfig, features_from_signal, trim_silence
from rnnkit.data.audio_augment import (add_noise, augment_signal, change_speed, change_tempo,
                                       mask_spectrogram, random_gain, shift_pitch, time_shift)
from rnnkit.errors import DataError

RATE = 8000


def tone(freq: float, seconds: float = 0.5, rate: int = RATE) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def peak_hz(x: np.ndarray, rate: int = RATE) -> float:
    spec = np.abs(np.fft.rfft(x * np.hanning(x.size)))
    return float(np.fft.rfftfreq(x.size, 1 / rate)[spec.argmax()])


def test_speed_changes_duration_and_pitch_together():
    x = tone(500)
    y = change_speed(x, RATE, 1.25)
    assert y.dtype == np.float32 and y.size == round(x.size / 1.25)
    assert abs(peak_hz(y) - 625) < 20


def test_tempo_changes_duration_and_keeps_pitch():
    x = tone(500)
    for factor in (0.8, 1.2):
        y = change_tempo(x, RATE, factor)
        assert y.size == round(x.size / factor)
        assert abs(peak_hz(y) - 500) < 20


@pytest.mark.parametrize("semitones", [-3.0, 2.0])
def test_pitch_shift_keeps_length_and_moves_the_frequency(semitones):
    x = tone(400)
    y = shift_pitch(x, RATE, semitones)
    assert y.shape == x.shape and y.dtype == np.float32
    assert abs(peak_hz(y) - 400 * 2 ** (semitones / 12)) < 20


def test_noise_is_added_at_the_requested_snr():
    x = tone(300, seconds=1.0)
    for snr in (0.0, 10.0, 20.0, 30.0):
        y = add_noise(x, np.random.default_rng(1), snr)
        assert y.shape == x.shape
        noise = y.astype(np.float64) - x
        measured = 10 * np.log10(np.mean(x.astype(np.float64) ** 2) / np.mean(noise ** 2))
        assert abs(measured - snr) < 0.01
    assert np.array_equal(add_noise(np.zeros(100, np.float32), np.random.default_rng(0), 10.0), np.zeros(100))


def test_gain_stays_in_its_range_and_keeps_length():
    x = tone(300)
    gains = []
    for seed in range(50):
        y = random_gain(x, np.random.default_rng(seed), -20.0, 6.0)
        assert y.shape == x.shape
        gains.append(20 * np.log10(np.max(np.abs(y)) / np.max(np.abs(x))))
    assert -20.0 - 1e-4 <= min(gains) and max(gains) <= 6.0 + 1e-4
    assert max(gains) - min(gains) > 10  # it does vary


def test_shift_keeps_length_and_moves_the_signal():
    x = np.zeros(800, np.float32)
    x[400] = 1.0
    y = time_shift(x, RATE, np.random.default_rng(3), max_ms=10.0)  # up to 80 samples
    assert y.shape == x.shape and y.sum() == 1.0 and abs(int(y.argmax()) - 400) <= 80


def test_masks_have_the_asked_widths_and_cover_exactly_their_spans():
    spec = np.random.default_rng(0).standard_normal((60, 40))
    widths = {"time": set(), "freq": set()}
    for seed in range(40):
        out, spans = mask_spectrogram(spec, np.random.default_rng(seed), 2, 8, 3, 5)
        assert out.shape == spec.shape and len(spans) == 5
        expected = np.zeros(spec.shape, bool)
        for axis, start, width in spans:
            assert 1 <= width <= (8 if axis == "time" else 5)
            widths[axis].add(width)
            if axis == "time":
                expected[start:start + width, :] = True
            else:
                expected[:, start:start + width] = True
        assert np.array_equal(out != spec, expected)
        assert np.allclose(out[expected], spec.mean())
    assert widths == {"time": set(range(1, 9)), "freq": set(range(1, 6))}


def test_masks_never_cover_more_than_half_an_axis():
    out, spans = mask_spectrogram(np.ones((6, 40)), np.random.default_rng(0), 1, 50, 0, 0)
    assert spans[0][2] <= 3


def test_augment_signal_is_deterministic_under_a_seed_and_keeps_the_rate():
    cfg = AudioConfig(aug_prob=1.0)
    x = tone(300)
    a = augment_signal(x, RATE, np.random.default_rng(7), cfg)
    b = augment_signal(x, RATE, np.random.default_rng(7), cfg)
    c = augment_signal(x, RATE, np.random.default_rng(8), cfg)
    assert np.array_equal(a, b) and not np.array_equal(a[:min(a.size, c.size)], c[:min(a.size, c.size)])
    # the rate is kept: a 300 Hz tone stays near 300 Hz times the speed and pitch factors at most
    assert 300 * 0.9 * 2 ** (-3 / 12) - 20 < peak_hz(a) < 300 * 1.1 * 2 ** (3 / 12) + 20
    fa = features_from_signal(a, cfg, np.random.default_rng(1))
    fb = features_from_signal(a, cfg, np.random.default_rng(1))
    assert np.array_equal(fa, fb) and fa.shape[1] == cfg.n_features


def test_each_step_runs_with_probability_aug_prob():
    x = tone(300)
    only_gain = dict(aug_speed=(), aug_tempo=(), aug_pitch=(), aug_snr_db=(), aug_gain_db=(-20.0, -10.0))
    cfg = AudioConfig(aug_prob=0.3, **only_gain)
    changed = [not np.array_equal(augment_signal(x, RATE, np.random.default_rng(s), cfg), x) for s in range(400)]
    assert 0.22 < np.mean(changed) < 0.38
    assert not any(not np.array_equal(augment_signal(x, RATE, np.random.default_rng(s), AudioConfig(aug_prob=0.0)), x)
                   for s in range(20))


def test_steps_turn_off():
    cfg = AudioConfig(aug_prob=1.0, aug_speed=(), aug_tempo=None, aug_pitch=(), aug_shift_ms=0.0,
                      aug_gain_db=(), aug_snr_db=())
    x = tone(300)
    assert np.array_equal(augment_signal(x, RATE, np.random.default_rng(0), cfg), x)


def test_trim_silence_drops_quiet_ends_only():
    cfg = AudioConfig()
    word = tone(300, 0.3)  # (2400,)
    x = np.concatenate([np.zeros(4000, np.float32), word, np.zeros(2000, np.float32)])
    y = trim_silence(x, cfg)
    # a frame partly over the word is loud too: at most a window and a hop more each side
    assert 2400 <= y.size <= 2400 + 2 * (cfg.win_length + cfg.hop_length)
    assert np.isclose(np.sum(y.astype(np.float64) ** 2), np.sum(word.astype(np.float64) ** 2))
    assert np.array_equal(trim_silence(x, AudioConfig(trim_db=0)), x)
    assert np.array_equal(trim_silence(np.zeros(3000, np.float32), cfg), np.zeros(3000))


@pytest.mark.parametrize("field, value, message", [
    ("aug_speed", (0.3, 1.0), "audio aug_speed must be [low, high] with 0.5 <= low <= high <= 2, got [0.3, 1.0]"),
    ("aug_gain_db", (6.0, -6.0), "audio aug_gain_db must be [low, high] with low <= high, got [6.0, -6.0]"),
    ("aug_pitch", (-20.0, 0.0), "audio aug_pitch must stay within -12..12 semitones, got [-20.0, 0.0]"),
    ("aug_time_masks", -1, "audio aug_time_masks must be >= 0, got -1"),
    ("trim_db", -5.0, "audio trim_db must be >= 0 (0: no trimming), got -5.0"),
    ("aug_prob", 1.5, "audio aug_prob must be in [0, 1], got 1.5"),
])
def test_bad_augmentation_settings_are_one_line_errors(field, value, message):
    with pytest.raises(DataError) as err:
        AudioConfig(**{field: value})
    assert str(err.value) == message


def test_floor_db_raises_quiet_log_mel_energies_to_the_floor():
    x = np.concatenate([tone(300, 0.2), 1e-4 * tone(300, 0.2)])  # the second half 80 dB quieter
    cfg = AudioConfig(n_mfcc=0, deltas=0, normalize=False, trim_db=0, floor_db=30.0)
    floored = features_from_signal(x, cfg)
    raw = features_from_signal(x, AudioConfig(n_mfcc=0, deltas=0, normalize=False, trim_db=0))
    floor = raw.max() - 30.0 * np.log(10.0) / 10.0
    assert np.isclose(floored.min(), floor) and np.allclose(floored, np.maximum(raw, floor))

"""Test-time augmentation (TTA) of speech: the clean features and fixed perturbed copies.

At prediction a model trained with augmentation can hear one utterance through several
of the transformations it was trained on, and average its class probabilities over them::

    p(y | x) = (1 / (1 + N)) * ( f(x) + sum_{v=1..N} f(view_v(x)) )

so that an unseen voice is heard with several vocal tracts, pitches and speaking rates.
The views are the first N of :data:`TTA_VIEWS`, a fixed ladder taken in order (pairs,
so an even N is symmetric), each made by the training augmentation's own function
(:mod:`rnnkit.data.audio_augment`, :func:`rnnkit.data.audio.vtlp_warp`) with a fixed
setting, never a random one:

==  ==============  ===============================================================
 1  pitch +2        :func:`shift_pitch` by +2 semitones (length and rate kept)
 2  pitch -2        ... by -2 semitones
 3  tempo 0.9       :func:`change_tempo` by 0.9 (WSOLA: 11 % longer, pitch kept)
 4  tempo 1.1       ... by 1.1 (9 % shorter)
 5  vtlp 0.9        mel filters over a spectrum warped by 0.9 (a longer vocal tract)
 6  vtlp 1.1        ... by 1.1 (a shorter one); the signal itself is unchanged
 7  speed 0.95      :func:`change_speed` by 0.95 (pitch and duration together)
 8  speed 1.05      ... by 1.05
 9  noise 25 dB     :func:`add_noise` at 25 dB SNR, noise from generator seed 9
10  noise 25 dB     ... from generator seed 10 (another fixed draw)
==  ==============  ===============================================================

Every view is a pure function of the signal: the same file gives the same views (the
noise views seed their own generator with the view's number). No other augmentation
step (gain, masks, shift) is used: per-utterance normalisation undoes a gain, and a
mask or shift only removes information. As in training, the signal is trimmed of its
silences first (:func:`rnnkit.data.audio.trim_silence`), given the noise floor of
``noise_floor_db`` (:func:`rnnkit.data.audio.noise_floor`, the same one as the clean
entry's), then perturbed, then turned into features by
:func:`rnnkit.data.audio.features_from_signal`.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from rnnkit.data.audio import AudioConfig, features_from_signal, noise_floor, trim_silence
from rnnkit.data.audio_augment import add_noise, change_speed, change_tempo, shift_pitch
from rnnkit.errors import DataError

__all__ = ["TTA_VIEWS", "tta_signal", "tta_features", "average_views"]

# (kind, setting), in the order views are taken: the module docstring's table.
TTA_VIEWS: tuple[tuple[str, float], ...] = (
    ("pitch", 2.0), ("pitch", -2.0),
    ("tempo", 0.9), ("tempo", 1.1),
    ("vtlp", 0.9), ("vtlp", 1.1),
    ("speed", 0.95), ("speed", 1.05),
    ("noise", 25.0), ("noise", 25.0),
)


def tta_signal(x: np.ndarray, rate: int, view: int) -> tuple[np.ndarray, float]:
    """View number ``view`` (1-based, :data:`TTA_VIEWS`) of signal x (N,) -> (signal, VTLP warp).

    The warp is 1 except for the VTLP views, whose signal is x itself.
    """
    if not 1 <= view <= len(TTA_VIEWS):
        raise DataError(f"test-time augmentation view must be in 1..{len(TTA_VIEWS)}, got {view}")
    kind, value = TTA_VIEWS[view - 1]
    x = np.asarray(x, dtype=np.float32)
    if kind == "pitch":
        return shift_pitch(x, rate, value), 1.0
    if kind == "tempo":
        return change_tempo(x, rate, value), 1.0
    if kind == "speed":
        return change_speed(x, rate, value), 1.0
    if kind == "noise":
        return add_noise(x, np.random.default_rng(view), value), 1.0
    return x, value  # vtlp


def tta_features(x: np.ndarray, cfg: AudioConfig, n: int | None = None) -> list[np.ndarray]:
    """Signal at ``cfg.sample_rate`` -> [clean features (T, F), view 1 (T_1, F), ..., view n].

    ``n`` defaults to ``cfg.tta``; the first entry is exactly ``features_from_signal(x, cfg)``.
    """
    n = cfg.tta if n is None else n
    if not 0 <= n <= len(TTA_VIEWS):
        raise DataError(f"audio tta must be in 0..{len(TTA_VIEWS)}, got {n}")
    out = [features_from_signal(x, cfg)]
    if n:
        word = noise_floor(trim_silence(x, cfg), cfg)  # the clean entry's floor, the same draw
        for view in range(1, n + 1):
            signal, warp = tta_signal(word, cfg.sample_rate, view)
            out.append(features_from_signal(signal, cfg, warp=warp, floored=True))
    return out


def average_views(predict_proba: Callable[[list[np.ndarray]], np.ndarray],
                  views: Sequence[Sequence[np.ndarray]]) -> np.ndarray:
    """Mean class probabilities over each item's views -> (n_items, K).

    ``views[i]`` is item i's list of feature sequences (:func:`tta_features`); all items
    need the same number of views. One ``predict_proba`` call per view position.
    """
    counts = {len(v) for v in views}
    if len(counts) != 1:
        raise DataError(f"every item needs the same number of views, got {sorted(counts)}")
    n_views = counts.pop()
    total = sum(predict_proba([v[k] for v in views]) for k in range(n_views))  # (n_items, K)
    return total / n_views

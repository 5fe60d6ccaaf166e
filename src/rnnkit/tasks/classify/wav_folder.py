"""Predict every recording in a folder of the user's own WAV files, skipping the bad ones.

    rows = predict_wav_folder("runs/digits", "my_recordings/", warn=print)
    # [("my_recordings/three.wav", "3", 0.97), ...]      sorted by file name

Each ``.wav`` file under the folder (any depth, any name case; hidden files ignored)
is read as :func:`rnnkit.data.wav.read_wav` reads it: any sample rate from 1 to
384 kHz (resampled to the model's), mono or several channels (averaged, unless the
model refuses them), 8/16/24/32-bit PCM or 32/64-bit float. A file that cannot be used
(corrupt, empty, no audio samples, not a WAV at all, unreadable) gives one line to
``warn`` naming it and why, and the others are still predicted; any other file in the
folder gives one line saying it was skipped. Only when no file at all can be predicted
is it an error (:class:`rnnkit.errors.DataError`, one line). ``adapt=True`` first adapts the
model's batch normalisation to the folder's usable files (:mod:`.adapt`): for a folder of one
voice, several different words. A file longer than
``MAX_SECONDS`` (a recording, not one spoken word) is predicted on its first
``MAX_SECONDS`` only, with one line to ``warn`` saying so; it is not read whole.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from rnnkit.data.audio import features_from_signal
from rnnkit.data.audio_tta import average_views, tta_features
from rnnkit.data.wav import WAV_SUFFIXES, read_wav
from rnnkit.data.classify_inputs import natural_key
from rnnkit.errors import DataError
from rnnkit.tasks.classify.adapt import adapted
from rnnkit.tasks.classify.pipeline import audio_of, _load, unadapted_hint

__all__ = ["predict_wav_folder"]

MAX_SECONDS = 30.0  # longer files: predicted on their first 30 s (the models hear words)


def _candidates(folder: Path) -> list[Path]:
    files = [p for p in folder.rglob("*")
             if not any(part.startswith(".") for part in p.relative_to(folder).parts) and not p.is_dir()]
    return sorted(files, key=lambda p: natural_key(str(p.relative_to(folder))))


def predict_wav_folder(model_dir: str | Path, folder: str | Path, warn: Callable[[str], None] = print,
                       adapt: bool = False) -> list[tuple[str, str, float]]:
    """(file, predicted label, its probability) for every usable WAV file in ``folder``; ``adapt``:
    by a copy of the model adapted to the folder's files first (:func:`.adapt.adapted`, from
    their clean features)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder}: not a folder")
    clf = _load(model_dir)
    audio = audio_of(clf.info_)
    if audio is None:
        raise DataError(f"{model_dir}: the model was trained on .ts series, not audio; it cannot predict WAV files")
    if not adapt:
        unadapted_hint(clf, model_dir, warn)
    names: list[str] = []
    feats: list = []  # (T, F) each, or with audio.tta each file's [clean, view 1, ...]
    skipped = 0
    for path in _candidates(folder):
        if path.suffix.lower() not in WAV_SUFFIXES:
            warn(f"{path}: skipped, not a .wav file")
            skipped += 1
            continue
        try:
            x, _ = read_wav(path, audio.sample_rate, audio.stereo, audio.rate_mismatch,
                            max_seconds=MAX_SECONDS, warn=warn)
            feats.append(tta_features(x, audio) if audio.tta else features_from_signal(x, audio))
        except DataError as err:
            warn(f"{err}; skipped")
            skipped += 1
            continue
        except OSError as err:  # unreadable (permissions, a broken link)
            warn(f"{path}: cannot be read ({err.strerror or err}); skipped")
            skipped += 1
            continue
        names.append(str(path))
    if not names:
        raise DataError(f"{folder}: no WAV file here could be predicted ({skipped} skipped)")
    if adapt:
        clf = adapted(clf, [f[0] for f in feats] if audio.tta else feats)
    # (N, C); with audio.tta, the mean over each file's clean features and its views
    probs = average_views(clf.predict_proba, feats) if audio.tta else clf.predict_proba(feats)
    best = probs.argmax(axis=1)
    return [(name, str(clf.classes_[k]), float(probs[i, k])) for i, (name, k) in enumerate(zip(names, best))]

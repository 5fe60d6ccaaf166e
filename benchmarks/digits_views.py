"""The spoken-digits splits of ``bench_classify.py --task digits``, and how one trained model is
read with test-time augmentation: the held-out engine's folders, the TTA view sets, their
accuracies and the printed tables. Benchmark code only; ``src/`` never imports it."""
from __future__ import annotations

import statistics
from pathlib import Path

import numpy as np

from rnnkit.data.audio_tta import TTA_VIEWS, tta_features
from rnnkit.data.classify_inputs import load_labelled
from rnnkit.tasks.classify.adapt import adapted, group_indices
from rnnkit.tasks.classify.estimator import Classifier

ENGINES = ("espeak", "festival", "flite")        # the word before the first '-' of the speaker
DIGIT_SPLITS = tuple(f"loeo-{e}" for e in ENGINES) + ("speakers",)  # the rows (the default)
# Harder rows with no target, on which no choice was made: train on ONE engine, test on the other two.
ONE_ENGINE_SPLITS = tuple(f"only-{e}" for e in ENGINES)
DIGIT_TARGETS = {**{f"loeo-{e}": 0.90 for e in ENGINES}, "speakers": 0.97}


def engine_folders(source: Path, engine: str, out: Path, only: bool = False) -> tuple[Path, Path]:
    """(train, test) folders of symbolic links: every voice of ``engine`` in test and the rest in
    train, or with ``only`` every voice of ``engine`` in train and the rest in test."""
    train, test = (out / f"train-{engine}", out / f"test-not-{engine}") if only else \
        (out / f"train-no-{engine}", out / f"test-{engine}")
    for folder in (train, test):
        folder.mkdir(parents=True, exist_ok=True)
    for wav in sorted(source.glob("*.wav")):
        voice_engine = wav.name.split("_", 1)[1].split("-", 1)[0]
        link = (test if (voice_engine == engine) != only else train) / wav.name
        if not link.exists():
            link.symlink_to(wav.resolve())
    return train, test


# Test-time augmentation (rnnkit.data.audio_tta) read off the same trained model: which views
# are averaged with the clean features (0), by view number of TTA_VIEWS. "tta<N>": the first N.
TTA_SETS = {"clean": [0], **{f"tta{n}": list(range(n + 1)) for n in (2, 4, 6, 8, 10)},
            **{kind: [0, 2 * i + 1, 2 * i + 2] for i, kind in enumerate(("pitch", "tempo", "vtlp", "speed", "noise"))}}
assert len(TTA_VIEWS) == 10


def view_probabilities(run_dir: Path, source: Path, test: Path | None, cfg, test_groups: list[str]):
    """(probabilities (1 + len(TTA_VIEWS), n, K) of the clean features and every TTA view, targets (n,),
    the same probabilities adapted to each speaker, :func:`adapted_probabilities`) of the model in
    ``run_dir`` on its test files: the ``test`` folder, or the held-out groups of ``source``."""
    clf = Classifier.load(run_dir / "model")
    source = test if test is not None else source
    data = load_labelled(source, cfg.audio, cfg.data.label_pattern, cfg.data.group_pattern, keep_signals=True)
    if test is None:
        held = set(test_groups)
        data = data.subset([i for i, g in enumerate(data.groups) if g in held])
    views = [tta_features(x, cfg.audio, len(TTA_VIEWS)) for x in data.signals]  # n x (1 + V) x (T, F)
    probs = np.stack([clf.predict_proba([v[k] for v in views]) for k in range(1 + len(TTA_VIEWS))])
    index = {str(c): k for k, c in enumerate(clf.classes_.tolist())}
    return probs, np.array([index[label] for label in data.labels]), adapted_probabilities(clf, views, data.groups)


def adapted_probabilities(clf: Classifier, views: list, groups: list[str]) -> np.ndarray:
    """Like ``probs`` above, each speaker's files predicted by a copy of the model adapted to
    that speaker's clean files alone (``rnnkit classify predict --adapt`` on a folder of one
    voice; :func:`rnnkit.tasks.classify.adapt.adapted`): (1 + len(TTA_VIEWS), n, K)."""
    out = np.zeros((1 + len(TTA_VIEWS), len(views), len(clf.classes_)))
    for _, idx in group_indices(groups):
        mine = adapted(clf, [views[i][0] for i in idx])
        for k in range(1 + len(TTA_VIEWS)):
            out[k, idx] = mine.predict_proba([views[i][k] for i in idx])
    return out


def tta_accuracies(probs: np.ndarray, target: np.ndarray) -> dict[str, float]:
    """Accuracy of the mean probability over each set of views in TTA_SETS."""
    return {name: float((probs[idx].mean(axis=0).argmax(axis=1) == target).mean()) for name, idx in TTA_SETS.items()}


def print_table(title: str, table: dict[str, list[float]], seeds: list, targets: bool = True) -> None:
    means = {split: statistics.fmean(accs) for split, accs in table.items()}
    print(f"\n{title}\n\n| split | " + " | ".join(f"seed {s}" for s in seeds) + " | mean |"
          + (" target |" if targets else ""))
    print("|---|" + "---|" * (len(seeds) + 1 + int(targets)))
    for split, accs in table.items():
        target = DIGIT_TARGETS.get(split.split(" ")[0])
        met = "none" if target is None else f"{100 * target:.0f} %: {'met' if means[split] >= target else 'NOT met'}"
        print(f"| {split} | " + " | ".join(f"{100 * a:.1f} %" for a in accs)
              + f" | **{100 * means[split]:.1f} %** |" + (f" {met} |" if targets else ""), flush=True)

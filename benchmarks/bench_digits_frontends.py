"""How far each audio front end carries across synthesis engines, without training a network.

For every front end (an ``[audio]`` variant) and every engine of the bundled spoken digits
(espeak, festival, flite): each file of the held-out engine gets the label of its nearest
file of the other two engines under DTW (aeon's ``dtw_pairwise_distance``, Sakoe-Chiba
window 20 %), on the features that front end computes (no augmentation). The fraction
right is a cheap check of how much of what separates the digits the features keep across
engines; it is not the trained model's accuracy (``bench_classify.py --task digits``).

    .venv/bin/python benchmarks/bench_digits_frontends.py                  # every variant
    .venv/bin/python benchmarks/bench_digits_frontends.py default mfcc8    # some

Needs aeon (the ``bench`` extras). About 10-50 s per variant on one busy core.
"""
from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from rnnkit.data.audio import AudioConfig, wav_features  # noqa: E402

DIGITS = ROOT / "src" / "rnnkit" / "datasets" / "speech" / "spoken_digits_synth"
ENGINES = ("espeak", "festival", "flite")
VARIANTS = {  # name: [audio] settings on top of the defaults
    "default": {},
    "mfcc4": {"n_mfcc": 4},
    "mfcc6": {"n_mfcc": 6},
    "mfcc8": {"n_mfcc": 8},
    "mfcc10": {"n_mfcc": 10},
    "mfcc8-deltas1": {"n_mfcc": 8, "deltas": 1},
    "mfcc8-deltas0": {"n_mfcc": 8, "deltas": 0},
    "mfcc8-mels24": {"n_mfcc": 8, "n_mels": 24},
    "mfcc8-floor30": {"n_mfcc": 8, "floor_db": 30.0},
    "delta-only": {"static": False},
    "mfcc8-delta-only": {"n_mfcc": 8, "static": False},
    "pcen": {"compression": "pcen"},
}


def cross_engine_1nn(name: str) -> dict[str, float]:
    """{engine: accuracy of 1-NN DTW with that engine held out} for one front end."""
    from aeon.distances import dtw_pairwise_distance

    files = sorted(DIGITS.glob("*.wav"))
    labels = np.array([f.name.split("_", 1)[0] for f in files])
    engines = np.array([f.name.split("_", 1)[1].split("-", 1)[0] for f in files])
    cfg = AudioConfig(**VARIANTS[name])
    feats = [wav_features(f, cfg).T.astype(np.float64) for f in files]  # each (F, T)
    out = {}
    for engine in ENGINES:
        test, train = np.flatnonzero(engines == engine), np.flatnonzero(engines != engine)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # numba's type-safety notes
            dist = dtw_pairwise_distance([feats[i] for i in test], [feats[i] for i in train], window=0.2)
        out[engine] = float((labels[train][dist.argmin(axis=1)] == labels[test]).mean())  # dist (n_test, n_train)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("variants", nargs="*", help=f"which front ends (default: all): {', '.join(VARIANTS)}")
    args = parser.parse_args(argv)
    unknown = [v for v in args.variants if v not in VARIANTS]
    if unknown:
        parser.error(f"unknown front end {unknown[0]!r}; choose from {', '.join(VARIANTS)}")
    print("| front end | [audio] settings | " + " | ".join(f"held-out {e}" for e in ENGINES) + " |")
    print("|---|---|" + "---|" * len(ENGINES))
    for name in args.variants or list(VARIANTS):
        t0 = time.perf_counter()
        acc = cross_engine_1nn(name)
        settings = ", ".join(f"{k}={v}" for k, v in VARIANTS[name].items()) or "(defaults)"
        print(f"| {name} | {settings} | " + " | ".join(f"{100 * acc[e]:.1f} %" for e in ENGINES)
              + f" |  <!-- {time.perf_counter() - t0:.0f} s -->", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

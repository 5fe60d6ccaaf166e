"""Accuracy and training time of `rnnkit classify` on the two bundled problems.

* ``jv``: JapaneseVowels, the standard 270 train / 370 test split, 9 speakers (classes).
  Target: test accuracy >= 98.5 %, mean over 3 seeds.
* ``digits``: spoken_digits_synth, 400 words from 40 synthetic speakers, split by
  speaker: 10 speakers (100 files) held out for testing (split seed 0), 30 for training
  (no validation set), mean pooling, with audio augmentation. Target: >= 97 %.

Each seed is one full ``train_classifier`` run with the configuration below (what the
equivalent ``rnnkit classify train`` command line, printed by ``--commands``, does).

    .venv/bin/python benchmarks/bench_classify.py                    # both, seeds 0 1 2
    .venv/bin/python benchmarks/bench_classify.py --task jv --seeds 0
    .venv/bin/python benchmarks/bench_classify.py --commands         # the CLI equivalents
    .venv/bin/python benchmarks/bench_classify.py --task jv --set train.lr=2e-2   # a variant
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from rnnkit.training.classify import ClassifyConfig, default_config, train_classifier  # noqa: E402
from rnnkit.training.config import apply_overrides, from_dict  # noqa: E402

DATA = ROOT / "src" / "rnnkit" / "datasets"

TASKS = {
    "jv": {
        "train": DATA / "classification" / "JapaneseVowels_TRAIN.ts",
        "test": DATA / "classification" / "JapaneseVowels_TEST.ts",
        "overrides": ["model.cell='gru'"],
        "target": 0.985,
    },
    "digits": {
        "train": DATA / "speech" / "spoken_digits_synth",
        "test": None,
        "overrides": ["data.label_pattern='^(\\d)_'", "data.group_pattern='spk(\\d+)'",
                      "model.pooling='mean'", "data.augment=true"],
        "target": 0.97,
    },
}


EXTRA: list[str] = []  # --set overrides from the command line, applied last


def config_for(task: str, seed: int) -> ClassifyConfig:
    overrides = TASKS[task]["overrides"] + EXTRA + [f"train.seed={seed}", "train.progress=false"]
    return from_dict(ClassifyConfig, apply_overrides(default_config(), overrides))


def command_for(task: str) -> str:
    spec = TASKS[task]
    parts = ["rnnkit classify train", f"--train {spec['train'].relative_to(ROOT)}"]
    if spec["test"] is not None:
        parts.append(f"--test {spec['test'].relative_to(ROOT)}")
    for o in spec["overrides"]:
        key, value = o.split("=", 1)
        if key in ("data.label_pattern", "data.group_pattern"):
            parts.append(f"--{key.split('.')[1].replace('_', '-')} {value}")  # value keeps its quotes
        else:
            parts.append(f"--set {key}={value.strip(chr(39))}")
    parts += [f"--set {o}" for o in EXTRA] + ["--seed S", f"--out runs/{task}-S"]
    return " ".join(parts)


def run(task: str, seeds: list[int], out: Path) -> dict:
    spec = TASKS[task]
    rows = []
    for seed in seeds:
        summary = train_classifier(spec["train"], out / f"{task}-seed{seed}", spec["test"],
                                   config_for(task, seed), log=lambda _: None)
        rows.append({"seed": seed, "accuracy": summary["accuracy"], "n_test": summary["n_test"],
                     "train_seconds": summary["train_seconds"], "epochs": summary["epochs_run"],
                     "test_groups": summary["split"]["test"]["groups"] if spec["test"] is None else None,
                     "n_train": summary["split"]["train"]["n"], "n_val": summary["split"]["validation"]["n"]})
        print(f"{task} seed {seed}: accuracy {summary['accuracy']:.4f} (n={summary['n_test']}), "
              f"{summary['train_seconds']:.0f} s", flush=True)
    accs = [r["accuracy"] for r in rows]
    result = {
        "task": task, "rows": rows, "mean": statistics.fmean(accs),
        "std": statistics.stdev(accs) if len(accs) > 1 else 0.0, "min": min(accs), "max": max(accs),
        "mean_seconds": statistics.fmean(r["train_seconds"] for r in rows), "target": spec["target"],
        "command": command_for(task),
    }
    print(f"{task}: mean accuracy {result['mean']:.4f} ± {result['std']:.4f} (min {result['min']:.4f}, "
          f"max {result['max']:.4f}) over seeds {seeds}; target {spec['target']}: "
          f"{'met' if result['mean'] >= spec['target'] else 'NOT met'}; "
          f"mean training time {result['mean_seconds']:.0f} s", flush=True)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", choices=["jv", "digits", "all"], default="all")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--out", type=Path, default=None, help="Keep the run folders here (default: a temp dir).")
    parser.add_argument("--json", type=Path, default=None, help="Write all results as JSON here.")
    parser.add_argument("--commands", action="store_true", help="Print the equivalent CLI commands and exit.")
    parser.add_argument("--set", dest="overrides", action="append", default=[],
                        help="Extra config override for every run, e.g. --set train.lr=2e-2 (repeatable).")
    args = parser.parse_args(argv)
    EXTRA[:] = args.overrides
    tasks = ["jv", "digits"] if args.task == "all" else [args.task]
    if args.commands:
        for task in tasks:
            print(command_for(task))
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp)
        results = [run(task, args.seeds, out) for task in tasks]
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0 if all(r["mean"] >= r["target"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())

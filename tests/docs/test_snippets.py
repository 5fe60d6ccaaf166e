"""Docs that run: every ``bash`` and ``python`` block of README.md and docs/*.md executes.

Blocks run in one scratch folder (with ``src`` linked in, as in the repository root),
README first, then docs/ in name order, so a later
block may use what an earlier one wrote (``runs/jv`` from classification.md is what
export.md exports). ``rnnkit`` commands run in-process through typer's CliRunner with a
small budget appended (:data:`BUDGET`: the command as printed, just fewer steps); Python
blocks run with ``exec``. The files the docs name as the reader's own (``my.csv``,
``plays.txt``, ``data.ts``, ``some.wav``, ...) are made from the bundled data first.

Not run, and said so:
- a block preceded by ``<!-- docs-test: skip REASON -->`` (illustrative only: signatures,
  sketches with ``...``, multi-machine launches, benchmark runs, test-suite runs);
- ``torchrun`` lines (a multi-process launch; tests/training/test_distributed.py and the
  slow suite run torchrun themselves) and ``. .venv/bin/activate``;
- fences without a language (output, trees).
"""
from __future__ import annotations

import re
import shlex
import shutil
import time
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from rnnkit.cli.app import app
from rnnkit.datasets import dataset_path

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SKIP = re.compile(r"<!--\s*docs-test:\s*skip\b(.*?)-->")
FENCE = re.compile(r"^```(\w*)\s*$")

#: appended to each rnnkit command (the last value of an option wins): small budgets
BUDGET = {
    ("forecast", "train"): ["--epochs", "1", "--max-steps", "2", "--members", "1",
                            "--set", "model.hidden_size=4", "--set", 'baselines=["naive"]'],
    ("forecast", "backtest"): ["--epochs", "1", "--max-steps", "2", "--set", "model.members=1",
                               "--set", "model.hidden_size=4", "--set", 'baselines=["naive"]'],
    ("text", "train"): ["--epochs", "1", "--max-steps", "2", "--set", "model.hidden_size=8",
                        "--set", "model.embed_dim=4", "--set", "data.val_fraction=0.01"],
    ("text", "generate"): ["--length", "20"],
    ("classify", "train"): ["--epochs", "1", "--max-steps", "2", "--set", "model.hidden_size=4",
                            "--set", "model.num_layers=1"],
    ("tutorial",): ["--set", "train.epochs=2"],
    ("demo",): ["--steps", "5"],
    ("diagnose",): ["--lengths", "100", "--max-steps", "2", "--eval-every", "1", "--eval-size", "8",
                    "--hidden-size", "4", "--batch-size", "4", "--no-progress"],
}


def blocks(path: Path):
    """(language, code, skip reason or None, first line number) of each fenced block."""
    lines = path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        j = i + 1
        while j < len(lines) and not FENCE.match(lines[j]):
            j += 1
        before = next((lines[k] for k in range(i - 1, -1, -1) if lines[k].strip()), "")
        skip = SKIP.search(before)
        yield m.group(1), "\n".join(lines[i + 1 : j]), skip.group(1).strip() if skip else None, i + 1
        i = j + 1


def commands(code: str) -> list[list[str]]:
    """Shell lines (``\\`` continuations joined, comments dropped) as argument lists."""
    out = []
    for line in code.replace("\\\n", " ").splitlines():
        args = shlex.split(line, comments=True)
        if args:
            out.append(args)
    return out


def _readers_files(work: Path) -> None:
    """The files the docs name as the reader's own, made from the bundled data."""
    shutil.copy(dataset_path("forecasting", "co2_weekly.csv"), work / "my.csv")
    n = 80
    pd.DataFrame({"date": pd.date_range("2015-01-01", periods=n, freq="MS"),
                  "units": [10.0 + (i % 13) for i in range(n)]}).to_csv(work / "sales.csv", index=False)
    text = dataset_path("text", "shakespeare_plays_1mb.txt").read_text(encoding="utf-8")
    (work / "plays.txt").write_text(text[:60_000], encoding="utf-8")
    (work / "other.txt").write_text(text[-5_000:], encoding="utf-8")
    vowels = dataset_path("classification", "JapaneseVowels_TRAIN.ts")
    shutil.copy(vowels, work / "data.ts")
    shutil.copy(dataset_path("classification", "JapaneseVowels_TEST.ts"), work / "test.ts")
    digits = dataset_path("speech", "spoken_digits_synth")
    wavs = sorted(digits.glob("*.wav"))
    shutil.copy(wavs[0], work / "some.wav")
    shutil.copy(wavs[-1], work / "other.wav")


def _run_rnnkit(args: list[str], where: str) -> None:
    key = tuple(a for a in args[:2] if not a.startswith("-"))
    extra = BUDGET.get(key, BUDGET.get(key[:1], []))
    result = CliRunner().invoke(app, args + extra)
    assert result.exit_code == 0, f"{where}: rnnkit {shlex.join(args)}\n{result.output}"


def _run_shell(code: str, where: str) -> None:
    for args in commands(code):
        if args[0] == "rnnkit":
            _run_rnnkit(args[1:], where)
        elif args[0] in ("python", "python3") and args[1:3] == ["-m", "rnnkit"]:
            _run_rnnkit(args[3:], where)
        elif args[0] == "torchrun" or args[:1] in (["."], ["source"]):
            continue  # see the module docstring
        else:
            pytest.fail(f"{where}: cannot run {shlex.join(args)!r}; mark the block "
                        "<!-- docs-test: skip REASON --> if it is illustrative only")


def test_every_snippet_in_the_docs_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "src").symlink_to(ROOT / "src")  # the docs run from the repository root
    _readers_files(tmp_path)
    ran = 0
    for path in DOCS:
        for lang, code, skip, line in blocks(path):
            where = f"{path.relative_to(ROOT)}:{line}"
            if skip is not None or lang not in ("bash", "sh", "python"):
                continue
            start = time.perf_counter()
            if lang == "python":
                exec(compile(code, where, "exec"), {"__name__": "__docs__"})
            else:
                _run_shell(code, where)
            print(f"{where}: {time.perf_counter() - start:.1f} s")  # shown with -s
            ran += 1
    assert ran >= 10


def test_skip_markers_stay_few_and_give_a_reason():
    skipped = [(p.name, line, why) for p in DOCS for _, _, why, line in blocks(p) if why is not None]
    assert all(why for _, _, why in skipped), skipped
    assert len(skipped) <= 10, skipped


def test_commands_split_like_a_shell():
    code = "rnnkit a --x 'y z' \\\n    --w 1   # comment\n\n# only a comment\nrnnkit b"
    assert commands(code) == [["rnnkit", "a", "--x", "y z", "--w", "1"], ["rnnkit", "b"]]

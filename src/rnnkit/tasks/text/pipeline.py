"""Plain functions behind ``rnnkit text``: train, evaluate and generate, each a few lines over
:class:`~rnnkit.tasks.text.estimator.LanguageModel` (the Python object) that add the files.

    metrics = train_text(cfg, data=Path("plays.txt"), run_dir=Path("runs/lm"))
    report = evaluate_text(Path("runs/lm"), Path("other.txt"))
    chars, unseen = generate_text(Path("runs/lm"), prime="Romeo:\n", length=300)

Per character, with p the model's predicted probability of the true next character:

    nats/char = -1/N Σ ln p        bits/char = nats/char / ln 2        perplexity = e^{nats/char}

Training uses the shared :class:`~rnnkit.training.Trainer` on
:class:`~rnnkit.data.text.ContiguousBatches` (truncated BPTT; the model carries its
state from chunk to chunk and resets it at each epoch and validation pass). The
validation text is the last ``data.val_fraction`` of the corpus, cut at a blank line,
never seen in training. The reported figures are exact averages over every scored
character (summed, not a mean of chunk means).

Threads: training and its final scoring run on ``train.threads``; evaluation on
``threads`` (default: the run's ``train.threads``, else torch's); generation on
``threads`` (default 1: one character at a time is a small product per step, fastest
on one thread, and far faster than several threads on a busy machine).

Time budget: ``train.time_budget`` covers training, the validation pass of each epoch
and the final scoring of the best model on the validation text (the trainer reserves
one validation pass for it: ``extra_val_passes=1``).

Run folder: the trainer's files (config.json, metrics.csv, loss.png, checkpoints/)
plus ``model/`` (model.safetensors, model.json, which holds the vocabulary, and
estimator.json, the object's arguments: ``LanguageModel.load`` reads the folder) and
``metrics.json``.
"""

from __future__ import annotations

import json
import math
import warnings
from collections import Counter
from importlib import resources
from pathlib import Path
from typing import Iterator, Optional

from rnnkit.data.text import read_corpus, split_text
from rnnkit.models.sampling import check_sampling_args
from rnnkit.tasks.text.config import TextConfig, TextDataConfig, TextModelConfig, load_text_config
from rnnkit.tasks.text.estimator import GENERATE_THREADS, LanguageModel, UnseenCharactersWarning, check_threads
from rnnkit.tasks.text.saved import load_charlm
from rnnkit.tasks.text.scoring import score_ids
from rnnkit.training.config import save_json, to_dict
from rnnkit.training.distributed import is_main
from rnnkit.training.fresh_run import check_fresh_run

__all__ = [
    "TextConfig",
    "TextModelConfig",
    "TextDataConfig",
    "load_text_config",
    "bundled_corpus",
    "train_text",
    "evaluate_text",
    "generate_text",
    "load_charlm",
    "score_ids",
]

BUNDLED = "shakespeare_plays_1mb.txt"


def bundled_corpus() -> Path:
    """The ~1 MB Shakespeare sample shipped with rnnkit (see its PROVENANCE.md)."""
    return Path(str(resources.files("rnnkit.datasets") / "text" / BUNDLED))


# ------------------------------------------------------------------------ train
def train_text(cfg: TextConfig, data: Optional[Path], run_dir: Path, *,
               resume: bool = False, overwrite: bool = False) -> dict:
    """Train a character LM on ``data`` (None: the bundled corpus); write the run
    folder; return the metrics written to ``metrics.json``. ``overwrite``: replace an
    earlier run in ``run_dir``; without it a fresh run into a folder that holds one stops
    before any work (:mod:`rnnkit.training.fresh_run`)."""
    if is_main():  # under torchrun rank 0 alone checks the folder, as it alone writes
        check_fresh_run(run_dir, resume=resume, overwrite=overwrite, task="text")
    path = Path(data) if data is not None else bundled_corpus()
    text = read_corpus(path)
    train_part, val_part = split_text(text, cfg.data.val_fraction)
    lm = LanguageModel.from_config(cfg)
    lm._fit(train_part, val_part, f"text file {path}", run_dir=run_dir, resume=resume,
            run_config={**to_dict(cfg), "data_file": str(path)})
    lm.save(Path(run_dir) / "model")
    metrics = {
        "val_bits_per_char": lm.val_bits_per_char_,
        "val_nats_per_char": lm.val_nats_per_char_,
        "val_perplexity": math.exp(lm.val_nats_per_char_),
        "val_chars_scored": lm.val_chars_scored_,
        "train_chars": lm.train_chars_,
        "val_chars": lm.val_chars_,
        "vocab_size": len(lm.vocab_),
        "val_unseen_chars": lm.val_unseen_chars_,
        "epochs_run": lm.epochs_run_,
        "best_epoch": lm.best_epoch_,
        "stopped_reason": lm.stopped_reason_,
        "train_seconds": lm.train_seconds_,
        "data_file": str(path),
    }
    save_json(Path(run_dir) / "metrics.json", metrics)
    return metrics


# --------------------------------------------------------------------- load/use
def run_threads(model_dir: Path) -> Optional[int]:
    """``train.threads`` of the run that trained ``model_dir`` (None when unknown)."""
    for folder in (Path(model_dir), Path(model_dir).parent):
        path = folder / "config.json"
        if path.is_file():
            try:
                threads = json.loads(path.read_text(encoding="utf-8"))["train"]["threads"]
            except (OSError, ValueError, KeyError, TypeError):
                return None
            return threads if isinstance(threads, int) and threads >= 1 else None
    return None


def evaluate_text(model_dir: Path, data: Path, threads: Optional[int] = None,
                  progress: bool = False) -> dict:
    """Bits, nats and perplexity per character of the whole file ``data``, on
    ``threads`` torch threads (None: the run's ``train.threads``, else torch's)."""
    check_threads(threads)
    lm = LanguageModel._load(model_dir, "--model")
    text = read_corpus(data)
    report = lm._evaluate(text, f"text file {data}", threads if threads is not None else run_threads(model_dir),
                          progress)
    return {**report, "data_file": str(data)}


def generate_text(model_dir: Path, prime: str = "", length: int = 200, temperature: float = 1.0,
                  top_k: Optional[int] = None, top_p: Optional[float] = None,
                  seed: Optional[int] = None,
                  threads: Optional[int] = GENERATE_THREADS) -> tuple[Iterator[str], Counter]:
    """A streaming iterator of generated characters, and the prime's unseen characters
    (mapped to the unknown symbol; the caller reports them). The characters are drawn
    on ``threads`` torch threads (None: torch's), set while the iterator runs."""
    check_sampling_args(length, temperature, top_k, top_p)  # named as the command line spells them
    check_threads(threads)
    lm = LanguageModel._load(model_dir, "--model")
    unseen = lm.unseen(prime)
    with warnings.catch_warnings():  # the caller reports them, naming its own option
        warnings.simplefilter("ignore", UnseenCharactersWarning)
        chars = lm.stream(prime, length, temperature, top_k, top_p, seed, threads)
    return chars, unseen

"""Plain functions behind ``rnnkit text``: train, evaluate and generate.

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
plus ``model/`` (model.safetensors and model.json, which holds the vocabulary) and
``metrics.json``.
"""
from __future__ import annotations

import json
import math
from collections import Counter
from importlib import resources
from pathlib import Path
from typing import Iterator, Optional

import torch
from torch.nn import functional as F

from rnnkit.data.text import ContiguousBatches, Vocab, read_corpus, split_text
from rnnkit.errors import CheckpointError, ConfigError, DataError
from rnnkit.models.charlm import CharLM
from rnnkit.models.registry import tagged, task_of, untagged
from rnnkit.models.sampling import check_sampling_args, generate
from rnnkit.training.checkpoint import load_model, save_model
from rnnkit.tasks.text.config import TextConfig, TextDataConfig, TextModelConfig, load_text_config
from rnnkit.training.config import save_json, to_dict
from rnnkit.training.device import torch_threads
from rnnkit.training.progress import EpochProgress, progress_enabled
from rnnkit.training.distributed import is_main, leave_unless_main
from rnnkit.training.fresh_run import check_fresh_run
from rnnkit.training.trainer import Trainer

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

LN2 = math.log(2.0)
BUNDLED = "shakespeare_plays_1mb.txt"


def bundled_corpus() -> Path:
    """The ~1 MB Shakespeare sample shipped with rnnkit (see its PROVENANCE.md)."""
    return Path(str(resources.files("rnnkit.datasets") / "text" / BUNDLED))


# ----------------------------------------------------------------------- scoring
@torch.no_grad()
def score_ids(model: CharLM, ids: torch.Tensor, batch_size: int = 32, seq_len: int = 256,
              name: str = "text", progress: bool = False) -> tuple[float, int]:
    """Exact mean nats per predicted character of ``ids`` (N,), and the count (N - 1).

    The text is cut into at most ``batch_size`` contiguous streams of at least
    ``seq_len`` characters (one stream for a short text), each read from a zero state
    in chunks with the state carried. The few characters left after the last whole
    stream are read by continuing the last stream's state, so every character after
    the first is scored exactly once. ``progress`` draws a bar (where
    :func:`~rnnkit.training.progress.progress_enabled` allows).
    """
    n = int(ids.numel())
    if n < 2:
        raise DataError(f"{name}: has {n} character(s); scoring needs at least 2")
    streams = max(1, min(batch_size, (n - 1) // seq_len))
    t = min(seq_len, (n - 1) // streams)
    batches = ContiguousBatches(ids, streams, t, name=name)
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    model.on_eval_start()
    total, count = 0.0, 0
    with EpochProgress(progress_enabled(progress)) as bar:
        bar.start_validation(len(batches))
        for x, y in batches:
            nats, k = model.sum_nats((x.to(device), y.to(device)))
            total += nats
            count += k
            bar.advance(nats / max(k, 1))
    tail = ids[streams * batches.stream_len:]  # the last stream's end, then the rest
    if tail.numel() > 1:
        state = model.state
        last = tuple(s[:, -1:] for s in state) if isinstance(state, tuple) else state[:, -1:]
        logits, _ = model(tail[:-1].view(-1, 1).to(device), last)  # (R, 1, V)
        total += float(F.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                       tail[1:].to(device), reduction="sum"))
        count += tail.numel() - 1
    model.reset_state()
    model.train(was_training)
    return total / count, count


def _figures(nats: float, count: int) -> dict:
    return {"val_bits_per_char": nats / LN2, "val_nats_per_char": nats,
            "val_perplexity": math.exp(nats), "val_chars_scored": count}


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
    vocab = Vocab.from_text(train_part)
    train_ids, _ = vocab.encode(train_part)
    val_ids, unseen = vocab.encode(val_part)
    t, b = cfg.data.seq_len, cfg.train.batch_size
    train_batches = ContiguousBatches(train_ids, b, t, cfg.data.chunks_per_epoch,
                                      name=f"text file {path} (training part)")
    if val_ids.numel() < 2:
        raise DataError(f"text file {path}: the validation part has {val_ids.numel()} "
                        f"character(s); use more text or a larger data.val_fraction")
    val_streams = max(1, min(b, (val_ids.numel() - 1) // t))
    val_t = min(t, (val_ids.numel() - 1) // val_streams)
    val_batches = ContiguousBatches(val_ids, val_streams, val_t,
                                    name=f"text file {path} (validation part)")

    torch.manual_seed(cfg.train.seed)  # the initialisation; fit() seeds the rest
    m = cfg.model
    model = CharLM(len(vocab), m.embed_dim, m.hidden_size, m.num_layers, m.cell, m.dropout,
                   m.backend)
    model_config = tagged("text", {**model.model_config, "vocab": list(vocab.chars)})
    run_config = {**to_dict(cfg), "data_file": str(path)}
    trainer = Trainer(model, cfg.train, run_dir, model_config=model_config, run_config=run_config,
                      extra_val_passes=1)  # the final scoring below
    result = trainer.fit(train_batches, val_batches, resume=resume)
    leave_unless_main()  # under torchrun, rank 0 alone scores and writes
    trainer.load_best()

    with torch_threads(cfg.train.threads):
        nats, count = score_ids(model, val_ids, name=f"text file {path} (validation part)",
                                progress=cfg.train.progress)
    save_model(Path(run_dir) / "model", model.cpu(), model_config)
    metrics = {
        **_figures(nats, count),
        "train_chars": len(train_part),
        "val_chars": len(val_part),
        "vocab_size": len(vocab),
        "val_unseen_chars": dict(sorted(unseen.items())),
        "epochs_run": result.epochs_run,
        "best_epoch": result.best_epoch,
        "stopped_reason": result.stopped_reason,
        "train_seconds": result.seconds,
        "data_file": str(path),
    }
    save_json(Path(run_dir) / "metrics.json", metrics)
    return metrics


# --------------------------------------------------------------------- load/use
def load_charlm(model_dir: Path) -> tuple[CharLM, Vocab]:
    """Load a trained model from a run folder (its ``model/``) or a model folder."""
    model_dir = Path(model_dir)
    if not model_dir.exists():
        raise CheckpointError(f"--model: {str(model_dir)!r} does not exist")
    if (model_dir / "model" / "model.json").is_file():
        model_dir = model_dir / "model"

    vocab_holder: dict = {}

    def build(config: dict) -> CharLM:
        where = str(model_dir / "model.json")
        task = task_of(config, where)  # format 0 files (no tag) too
        if task != "text":
            raise CheckpointError(f"{where!r}: holds a {task} model, not a text model")
        args = untagged(config)
        try:
            vocab_holder["vocab"] = Vocab.from_dict({"chars": args.pop("vocab")})
        except (KeyError, DataError) as err:
            where = str(model_dir / "model.json")
            raise CheckpointError(f"{where!r}: no usable vocabulary ({err})") from None
        return CharLM(**args)

    model, _ = load_model(model_dir, build)
    vocab = vocab_holder["vocab"]
    if len(vocab) != model.model_config["vocab_size"]:
        raise CheckpointError(f"{str(model_dir / 'model.json')!r}: vocab has {len(vocab)} symbols "
                              f"but vocab_size is {model.model_config['vocab_size']}")
    model.eval()
    return model, vocab


def check_threads(threads: Optional[int]) -> None:
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int)
                                or threads < 1):
        raise ConfigError(f"--threads: must be an integer >= 1, saw {threads!r}")


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
    model, vocab = load_charlm(model_dir)
    text = read_corpus(data)
    ids, unseen = vocab.encode(text)
    with torch_threads(threads if threads is not None else run_threads(model_dir)):
        nats, count = score_ids(model, ids, name=f"text file {data}", progress=progress)
    return {"bits_per_char": nats / LN2, "nats_per_char": nats, "perplexity": math.exp(nats),
            "chars": len(text), "chars_scored": count,
            "unseen_chars": dict(sorted(unseen.items())), "data_file": str(data)}


GENERATE_THREADS = 1


def generate_text(model_dir: Path, prime: str = "", length: int = 200, temperature: float = 1.0,
                  top_k: Optional[int] = None, top_p: Optional[float] = None,
                  seed: Optional[int] = None,
                  threads: Optional[int] = GENERATE_THREADS) -> tuple[Iterator[str], Counter]:
    """A streaming iterator of generated characters, and the prime's unseen characters
    (mapped to the unknown symbol; the caller reports them). The characters are drawn
    on ``threads`` torch threads (None: torch's), set while the iterator runs."""
    check_sampling_args(length, temperature, top_k, top_p)
    check_threads(threads)
    model, vocab = load_charlm(model_dir)
    _, unseen = vocab.encode(prime)
    chars = generate(model, vocab, prime, length, temperature, top_k, top_p, seed)
    return _on_threads(chars, threads), unseen


def _on_threads(chars: Iterator[str], threads: Optional[int]) -> Iterator[str]:
    """``chars`` drawn with torch's threads set to ``threads`` (restored when done)."""
    with torch_threads(threads):
        yield from chars


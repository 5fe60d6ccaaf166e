"""`LanguageModel`: a character-level language model as one Python object.

    >>> lm = LanguageModel(hidden_size=256, time_budget=300).fit(text)   # a str, or a list of documents
    >>> lm.evaluate(other)            # {"bits_per_char": ..., "nats_per_char", "perplexity", ...}
    >>> lm.generate("ROMEO:", length=200, temperature=0.8, seed=1)       # the continuation, a str
    >>> lm.predict_proba("to be")     # (5, V): the next character's distribution after each prefix
    >>> lm.predict("to be")           # the likeliest next character after each prefix: a str of 5
    >>> lm.save("lm"); LanguageModel.load("lm")    # also a run folder of `rnnkit text train`

Conventions (scikit-learn's): constructor arguments are stored as given and checked in ``fit``
(one-line :class:`~rnnkit.errors.ConfigError`); ``get_params``/``set_params``/``clone`` work;
fitted attributes end in ``_``: ``vocab_`` (the characters, id order; id 0 is the unknown symbol
U+FFFD), ``classes_`` (the same as an array: ``predict_proba``'s columns), ``network_``
(:class:`~rnnkit.models.charlm.CharLM`), ``history_`` (one dict per epoch), ``best_epoch_``,
``epochs_run_``, ``stopped_reason_``, ``val_nats_per_char_``, ``val_bits_per_char_``,
``val_unseen_chars_``.

``fit`` is what ``rnnkit text train`` runs (the command is a few lines over it,
:mod:`.pipeline`): the last ``val_fraction`` of the text, cut at a blank line, or the
``validation`` text when given, is held out; the vocabulary is the training part's characters;
training is truncated BPTT over ``batch_size`` carried-state streams of ``seq_len`` characters
on the shared :class:`~rnnkit.training.Trainer` (Adam, cosine schedule, gradient clipping),
keeping the epoch with the lowest validation loss. The defaults are the CLI's ([model],
[data] and [train] of :mod:`.config`); docs/text.md says why.

A character the vocabulary lacks is read as the unknown symbol; ``generate``, ``predict`` and
``predict_proba`` say so in one :class:`UnseenCharactersWarning`, ``evaluate`` lists them under
``"unseen_chars"``.
"""
from __future__ import annotations

import json
import math
import re
import warnings
from collections import Counter
from pathlib import Path
from typing import Any, Iterator, Optional, Sequence

import numpy as np
import pandas as pd
import torch
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from rnnkit.data.text import ContiguousBatches, Vocab, check_unicode, describe_chars, split_text
from rnnkit.errors import CheckpointError, ConfigError, DataError
from rnnkit.models.charlm import CharLM
from rnnkit.models.registry import tagged
from rnnkit.models.sampling import check_sampling_args, generate
from rnnkit.tasks.text.config import TextConfig, TextDataConfig, TextModelConfig, text_train_defaults
from rnnkit.tasks.text.saved import PARAMS_FILE, load_charlm, read_params
from rnnkit.tasks.text.scoring import LN2, score_ids
from rnnkit.training.checkpoint import save_model
from rnnkit.training.config import from_dict, to_dict
from rnnkit.training.device import torch_threads
from rnnkit.training.distributed import leave_unless_main
from rnnkit.training.trainer import Trainer

__all__ = ["LanguageModel", "UnseenCharactersWarning", "check_threads"]

GENERATE_THREADS = 1  # one character per step is a small product: fastest on one thread (docs/text.md)
CHUNK = 4096  # characters read per forward call by predict_proba

_TRAIN = text_train_defaults()
# constructor argument -> (config table, key): the one mapping between the object and TextConfig
_KEYS = {"cell": ("model", "cell"), "embed_dim": ("model", "embed_dim"), "hidden_size": ("model", "hidden_size"),
         "num_layers": ("model", "num_layers"), "dropout": ("model", "dropout"), "backend": ("model", "backend"),
         "seq_len": ("data", "seq_len"), "val_fraction": ("data", "val_fraction"),
         "chunks_per_epoch": ("data", "chunks_per_epoch"), "epochs": ("train", "epochs"),
         "batch_size": ("train", "batch_size"), "lr": ("train", "lr"), "time_budget": ("train", "time_budget"),
         "max_steps": ("train", "max_steps"), "seed": ("train", "seed"), "device": ("train", "device"),
         "threads": ("train", "threads"), "verbose": ("train", "progress")}


class UnseenCharactersWarning(UserWarning):
    """Characters the model's vocabulary lacks were read as the unknown symbol."""


class LanguageModel(BaseEstimator):
    """A character-level LSTM/GRU/RNN language model (module doc).

    Network: ``cell`` ("lstm", "gru" or "rnn"), ``embed_dim``, ``hidden_size``, ``num_layers``,
    ``dropout``, ``backend`` (:class:`~rnnkit.models.charlm.CharLM`). Data: ``seq_len`` (the BPTT
    chunk), ``val_fraction`` (held out when ``fit`` gets no ``validation``), ``chunks_per_epoch``
    (None: an epoch walks the whole text). Training: ``epochs``, ``batch_size`` (parallel streams),
    ``lr``, ``time_budget`` (seconds, covering each epoch's validation and the final scoring),
    ``max_steps``, ``seed``, ``device``, ``threads`` (torch CPU threads of ``fit``, ``evaluate`` and
    ``predict_proba``; None: torch's), ``verbose`` (a progress bar).
    """

    def __init__(self, cell: str = TextModelConfig.cell, embed_dim: int = TextModelConfig.embed_dim,
                 hidden_size: int = TextModelConfig.hidden_size, num_layers: int = TextModelConfig.num_layers,
                 dropout: float = TextModelConfig.dropout, backend: str = TextModelConfig.backend,
                 seq_len: int = TextDataConfig.seq_len, val_fraction: float = TextDataConfig.val_fraction,
                 chunks_per_epoch: Optional[int] = TextDataConfig.chunks_per_epoch, epochs: int = _TRAIN.epochs,
                 batch_size: int = _TRAIN.batch_size, lr: float = _TRAIN.lr,
                 time_budget: Optional[float] = _TRAIN.time_budget, max_steps: Optional[int] = _TRAIN.max_steps,
                 seed: int = _TRAIN.seed, device: str = _TRAIN.device, threads: Optional[int] = _TRAIN.threads,
                 verbose: bool = False) -> None:
        self.cell = cell
        self.embed_dim = embed_dim
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.dropout = dropout
        self.backend = backend
        self.seq_len = seq_len
        self.val_fraction = val_fraction
        self.chunks_per_epoch = chunks_per_epoch
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.time_budget = time_budget
        self.max_steps = max_steps
        self.seed = seed
        self.device = device
        self.threads = threads
        self.verbose = verbose

    # ---------------------------------------------------------------- config
    @classmethod
    def from_config(cls, cfg: TextConfig) -> "LanguageModel":
        """The object a ``TextConfig`` describes; keys with no constructor argument
        (``train.grad_clip``, ``train.scheduler``, ...) are kept for ``fit`` too."""
        lm = cls(**{arg: getattr(getattr(cfg, table), key) for arg, (table, key) in _KEYS.items()})
        lm._base_config = cfg
        return lm

    def config(self) -> TextConfig:
        """The ``TextConfig`` of this object's arguments (checked: one-line ConfigError)."""
        base = getattr(self, "_base_config", None)
        data = to_dict(base if base is not None else TextConfig())
        for arg, (table, key) in _KEYS.items():
            data[table][key] = _plain(getattr(self, arg))
        return from_dict(TextConfig, data)

    # ------------------------------------------------------------------- fit
    def fit(self, text: str | Sequence[str], validation: Optional[str] = None) -> "LanguageModel":
        """Train on ``text`` (a str, or a list, 1-D array or Series of documents, joined by blank lines); hold out
        ``validation`` (a str) or else the last ``val_fraction`` of the text; returns self."""
        text = _as_text(text, "text")
        try:
            if validation is None:
                train_part, val_part = split_text(text, self.config().data.val_fraction)
            else:
                train_part, val_part = text, _as_text(validation, "validation")
            return self._fit(train_part, val_part, "text", sizes="batch_size={b}, seq_len={t}")
        except ConfigError as err:  # named as the constructor's arguments, not as the config keys
            raise ConfigError(_python_names(str(err))) from None

    def _fit(self, train_part: str, val_part: str, name: str, run_dir: str | Path | None = None,
             resume: bool = False, run_config: dict | None = None, sizes: str | None = None) -> "LanguageModel":
        """fit on a split already made, with what ``rnnkit text train`` adds: the run folder
        (checkpoints, metrics.csv, loss.png; resume), its config.json, and the data's name in
        messages. ``sizes``: how a too-short text's hint spells the sizes (None: as ``--set`` keys).
        Under torchrun, ranks other than 0 leave after training."""
        cfg = self.config()
        vocab = Vocab.from_text(train_part)
        train_ids, _ = vocab.encode(train_part)
        val_ids, unseen = vocab.encode(val_part)
        t, b = cfg.data.seq_len, cfg.train.batch_size
        train_batches = ContiguousBatches(train_ids, b, t, cfg.data.chunks_per_epoch, name=f"{name} (training part)",
                                          sizes=sizes)
        if val_ids.numel() < 2:
            raise DataError(f"{name}: the validation part has {val_ids.numel()} character(s); use more text "
                            "or a larger val_fraction")
        val_streams = max(1, min(b, (val_ids.numel() - 1) // t))
        val_t = min(t, (val_ids.numel() - 1) // val_streams)
        val_batches = ContiguousBatches(val_ids, val_streams, val_t, name=f"{name} (validation part)")

        torch.manual_seed(cfg.train.seed)  # the initialisation; the trainer seeds the rest
        m = cfg.model
        network = CharLM(len(vocab), m.embed_dim, m.hidden_size, m.num_layers, m.cell, m.dropout, m.backend)
        model_config = tagged("text", {**network.model_config, "vocab": list(vocab.chars)})
        trainer = Trainer(network, cfg.train, run_dir, model_config=model_config,
                          run_config=run_config if run_config is not None else to_dict(cfg),
                          extra_val_passes=1)  # the final scoring below
        result = trainer.fit(train_batches, val_batches, resume=resume)
        leave_unless_main()  # under torchrun, rank 0 alone scores and keeps the model
        trainer.load_best()
        network.eval()
        self.network_, self.vocab_ = network, vocab.chars
        self.classes_ = np.array(vocab.chars, dtype=object)
        with torch_threads(cfg.train.threads):
            nats, count = score_ids(network, val_ids, name=f"{name} (validation part)", progress=cfg.train.progress)
        self.history_, self.best_epoch_ = list(result.history), result.best_epoch
        self.epochs_run_, self.stopped_reason_, self.train_seconds_ = (result.epochs_run, result.stopped_reason,
                                                                       result.seconds)
        self.train_chars_, self.val_chars_ = len(train_part), len(val_part)
        self.val_nats_per_char_, self.val_bits_per_char_, self.val_chars_scored_ = nats, nats / LN2, count
        self.val_unseen_chars_ = dict(sorted(unseen.items()))
        return self

    # ------------------------------------------------------------------- use
    def evaluate(self, text: str | Sequence[str]) -> dict:
        """Bits, nats and perplexity per character of ``text`` (every character after the
        first scored once, from a zero state), with the characters the vocabulary lacks."""
        return self._evaluate(_as_text(text, "text"), "text")

    def score(self, text: str | Sequence[str], y: None = None) -> float:
        """The mean log-likelihood per scored character of ``text``, in nats (``-nats_per_char`` of
        :meth:`evaluate`): higher is better, as scikit-learn's density models (GaussianMixture) score,
        so model selection that maximises ``score`` picks the lowest perplexity."""
        return -self.evaluate(text)["nats_per_char"]

    def _evaluate(self, text: str, name: str, threads: Optional[int] = None, progress: bool = False) -> dict:
        vocab = self._vocab()
        ids, unseen = vocab.encode(text)
        with torch_threads(threads if threads is not None else self.threads):
            nats, count = score_ids(self.network_, ids, name=name, progress=progress)
        return {"bits_per_char": nats / LN2, "nats_per_char": nats, "perplexity": math.exp(nats),
                "chars": len(text), "chars_scored": count, "unseen_chars": dict(sorted(unseen.items()))}

    def unseen(self, text: str) -> Counter:
        """The characters of ``text`` the vocabulary lacks, with their counts."""
        check_unicode(text, "text")
        return self._vocab().encode(text)[1]

    def predict_proba(self, text: str) -> np.ndarray:
        """(len(text), V) float64: row i is the distribution of the character after
        ``text[:i + 1]`` (read from a zero state), columns in ``classes_`` order."""
        parts: list[np.ndarray] = []
        self._each_chunk(text, parts.append)
        return np.concatenate(parts) if parts else np.zeros((0, len(self.vocab_)))

    def predict(self, text: str) -> str:
        """The likeliest next character after each prefix of ``text``: a str of len(text) (chunk
        by chunk: the (len(text), V) probabilities are never held at once)."""
        best: list[np.ndarray] = []
        self._each_chunk(text, lambda proba: best.append(proba.argmax(axis=1)))
        return "".join(self.vocab_[i] for i in np.concatenate(best)) if best else ""

    def _each_chunk(self, text: str, take) -> None:
        """``take`` the probabilities (T, V) float64 of each chunk of up to CHUNK characters in
        turn, the network's state carried from chunk to chunk (bounded memory on long texts)."""
        ids = self._encode(text, "text")
        network = self.network_
        device = next(network.parameters()).device
        state = None
        with torch_threads(self.threads):
            for a in range(0, ids.numel(), CHUNK):
                with torch.no_grad():
                    logits, state = network(ids[a:a + CHUNK].view(-1, 1).to(device), state)  # (T, 1, V)
                take(torch.softmax(logits[:, 0].double(), dim=-1).cpu().numpy())

    def generate(self, prime: str = "", length: int = 200, temperature: float = 1.0, top_k: Optional[int] = None,
                 top_p: Optional[float] = None, seed: Optional[int] = None,
                 threads: Optional[int] = GENERATE_THREADS) -> str:
        """``length`` characters continuing ``prime`` (the prime not included): temperature 0 is
        greedy, ``top_k``/``top_p`` restrict the draw; the same ``seed``, the same text; drawn on
        ``threads`` torch threads (None: torch's). An empty prime starts a new paragraph."""
        return "".join(self._stream(prime, length, temperature, top_k, top_p, seed, threads))

    def stream(self, prime: str = "", length: int = 200, temperature: float = 1.0, top_k: Optional[int] = None,
               top_p: Optional[float] = None, seed: Optional[int] = None,
               threads: Optional[int] = GENERATE_THREADS) -> Iterator[str]:
        """``generate``, one character at a time as each is drawn (arguments checked at the call)."""
        return self._stream(prime, length, temperature, top_k, top_p, seed, threads)

    def _stream(self, prime: str, length: int, temperature: float, top_k: Optional[int], top_p: Optional[float],
                seed: Optional[int], threads: Optional[int]) -> Iterator[str]:
        check_sampling_args(length, temperature, top_k, top_p, cli=False)
        check_threads(threads, "threads")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
            raise ConfigError(f"seed: must be an integer or None, saw {seed!r}")
        self._encode(prime, "prime")  # unicode check and the unseen warning, at the call
        return _on_threads(generate(self.network_, self._vocab(), prime, length, temperature, top_k, top_p, seed),
                           threads)

    # ------------------------------------------------------------- save/load
    def save(self, path: str | Path) -> None:
        """Write ``model.safetensors``, ``model.json`` (the network's arguments and vocabulary:
        what ``rnnkit text evaluate/generate`` read) and ``estimator.json`` (the constructor
        arguments) into folder ``path`` atomically; no pickle."""
        check_is_fitted(self, "network_")
        state = {k: v.detach().cpu() for k, v in self.network_.state_dict().items()}
        model_config = tagged("text", {**self.network_.model_config, "vocab": list(self.vocab_)})
        params = json.dumps({k: _plain(v) for k, v in self.get_params().items()}, indent=2, sort_keys=True) + "\n"
        save_model(path, state, model_config, extra={PARAMS_FILE: params.encode("utf-8")})

    @classmethod
    def load(cls, path: str | Path) -> "LanguageModel":
        """The model saved in ``path`` (a model folder, or a run folder holding ``model/``).
        A folder written by ``rnnkit text train`` before ``estimator.json`` existed gets its
        network's arguments and the defaults for the rest."""
        return cls._load(path, "path")

    @classmethod
    def _load(cls, path: str | Path, what: str) -> "LanguageModel":
        """load, with the argument that named ``path`` (``--model`` on the command line)."""
        network, vocab = load_charlm(Path(path), what=what)
        folder = Path(path) / "model" if (Path(path) / "model" / "model.json").is_file() else Path(path)
        args = {k: network.model_config[k] for k in ("cell", "embed_dim", "hidden_size", "num_layers", "dropout",
                                                       "backend")}
        if (folder / PARAMS_FILE).is_file():
            args |= read_params(folder / PARAMS_FILE, set(_KEYS))
        lm = cls(**args)
        try:
            lm.config()
        except ConfigError as err:
            raise CheckpointError(f"{str(folder / PARAMS_FILE)!r}: {err}") from None
        if any(args[k] != network.model_config[k] for k in ("cell", "embed_dim", "hidden_size", "num_layers")):
            raise CheckpointError(f"{str(folder / PARAMS_FILE)!r}: its network arguments differ from model.json's")
        lm.network_, lm.vocab_ = network, vocab.chars
        lm.classes_ = np.array(vocab.chars, dtype=object)
        return lm

    # --------------------------------------------------------------- helpers
    def _vocab(self) -> Vocab:
        check_is_fitted(self, "network_")
        return Vocab(tuple(self.vocab_))

    def _encode(self, text: Any, what: str) -> torch.Tensor:
        """The ids of ``text``, warning of characters the vocabulary lacks. Every public method
        reaches this through one private one, so the warning points 4 frames up: the user's line."""
        if not isinstance(text, str):
            raise DataError(f"{what}: expected a str, got {type(text).__name__}")
        check_unicode(text, what)
        ids, unseen = self._vocab().encode(text)
        if unseen:
            warnings.warn(f"{what}: {sum(unseen.values())} character(s) not in the model's vocabulary were mapped "
                          f"to the unknown symbol: {describe_chars(unseen)}", UnseenCharactersWarning, stacklevel=4)
        return ids


_NAMES = {f"{table}.{key}": arg for arg, (table, key) in _KEYS.items()} | {"--device": "device"}
_NAME = re.compile("|".join(rf"(?<![\w.-]){re.escape(k)}(?!\w)" for k in sorted(_NAMES, key=len, reverse=True)))


def _plain(value: Any) -> Any:
    """A NumPy scalar (``np.int64(256)``, from a grid search, say) as the Python number it holds."""
    return value.item() if isinstance(value, np.generic) else value


def _python_names(message: str) -> str:
    """A config error as the object's user reads it: ``train.epochs`` -> ``epochs``, ``--device`` -> ``device``."""
    return _NAME.sub(lambda m: _NAMES[m.group(0)], message)


def _as_text(text: Any, what: str) -> str:
    """A str, or a list/tuple (or 1-D NumPy array, pandas Series) of str joined by blank lines; checked
    (one-line DataError)."""
    if isinstance(text, (np.ndarray, pd.Series)) and text.ndim == 1:
        text = list(text)  # the documents scikit-learn's cross-validation indexes out
    if isinstance(text, (list, tuple)):
        if not all(isinstance(part, str) for part in text):
            bad = next(part for part in text if not isinstance(part, str))
            raise DataError(f"{what}: every document must be a str, got {type(bad).__name__}")
        text = "\n\n".join(text)
    if not isinstance(text, str):
        raise DataError(f"{what}: expected a str or a list of str, got {type(text).__name__}")
    check_unicode(text, what)
    if not text.strip():
        raise DataError(f"{what}: is empty or only whitespace; a language model needs text")
    return text


def check_threads(threads: Optional[int], what: str = "--threads") -> None:
    """A one-line ConfigError unless ``threads`` is None or an integer >= 1."""
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
        raise ConfigError(f"{what}: must be an integer >= 1, saw {threads!r}")


def _on_threads(chars: Iterator[str], threads: Optional[int]) -> Iterator[str]:
    """``chars`` drawn with torch's threads set to ``threads`` (restored when done)."""
    with torch_threads(threads):
        yield from chars


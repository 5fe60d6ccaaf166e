"""Text corpora for character-level language models.

Four pieces, each small:

- :func:`read_corpus` reads a UTF-8 file and turns every way it can be unusable
  (missing, empty, not UTF-8) into a one-line :class:`~rnnkit.errors.DataError`.
- :class:`Vocab` maps characters to ids. Id 0 is the *unknown symbol*: a character
  the training text never contained maps to it, and :meth:`Vocab.encode` reports
  which characters that happened to, so callers can tell the user.
- :func:`split_text` holds out the *last* part of the text, contiguously, for
  validation (never random chunks, which would leak neighbouring text).
- :class:`ContiguousBatches` cuts a long id sequence into B parallel streams and
  walks them in chunks of T characters, as truncated backpropagation through time
  with carried state needs: row b of chunk k+1 continues exactly where row b of
  chunk k stopped.

Batches are time-major: ``x`` and ``y`` have shape (T, B), with ``y[t] = x[t+1]``
along each stream (the next character is the target).
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import torch

from rnnkit.errors import DataError

__all__ = [
    "UNK",
    "read_corpus",
    "Vocab",
    "split_text",
    "ContiguousBatches",
    "describe_chars",
    "check_unicode",
]

# The unknown symbol, as decoded text. U+FFFD is Unicode's own "replacement character".
UNK = "\ufffd"


def describe_chars(chars) -> str:
    """A short, printable list of characters, e.g. ``'é' (U+00E9), '\\t' (U+0009)``."""
    shown = []
    for ch in sorted(chars)[:10]:
        shown.append(f"{ch!r} (U+{ord(ch):04X})")
    more = len(set(chars)) - len(shown)
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")


def check_unicode(text: str, what: str) -> None:
    """A one-line DataError where ``text`` holds a code point UTF-8 cannot hold (a lone surrogate:
    a command-line byte that was not UTF-8, or a half of a UTF-16 pair), naming ``what`` and the
    position."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as err:
        code = ord(text[err.start])
        which = f"byte 0x{code - 0xDC00:02x}" if 0xDC80 <= code <= 0xDCFF else f"code point U+{code:04X}"
        raise DataError(f"{what}: {which} at position {err.start} is not UTF-8 text") from None


def read_corpus(path: str | Path) -> str:
    """Read a whole UTF-8 text file.

    A leading byte-order mark is dropped and Windows line ends become ``\\n``.
    Raises DataError (one line, naming the file) when the file is missing, is a
    directory, is empty, holds only whitespace, or is not valid UTF-8; the last
    names the line, column and byte offset of the first bad byte.
    """
    path = Path(path)
    if not path.exists():
        raise DataError(f"text file {path}: not found")
    if path.is_dir():
        raise DataError(f"text file {path}: is a directory, expected a UTF-8 text file")
    raw = path.read_bytes()
    if not raw:
        raise DataError(f"text file {path}: the file is empty; a corpus needs text")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        head = raw[: err.start]
        line = head.count(b"\n") + 1
        column = err.start - (head.rfind(b"\n") + 1) + 1
        bad = raw[err.start : err.start + 1].hex()
        raise DataError(
            f"text file {path}: line {line}, column {column}: byte 0x{bad} at offset "
            f"{err.start} is not valid UTF-8; re-save the file as UTF-8"
        ) from None
    text = text.replace("\r\n", "\n")
    if not text.strip():
        raise DataError(f"text file {path}: holds only whitespace; a corpus needs text")
    return text


@dataclass(frozen=True)
class Vocab:
    """Characters ↔ ids. ``chars[0]`` is :data:`UNK`; the rest are the training
    text's distinct characters in code-point order, so a vocabulary depends on the
    set of characters only, not on their order or counts."""

    chars: tuple[str, ...]

    def __post_init__(self) -> None:
        if not self.chars or self.chars[0] != UNK:
            raise DataError("vocab: the first symbol must be the unknown symbol U+FFFD")
        if len(set(self.chars)) != len(self.chars):
            raise DataError("vocab: symbols must be distinct")
        for ch in self.chars:
            if len(ch) != 1:
                raise DataError(f"vocab: every symbol must be one character, saw {ch!r}")
        if list(self.chars[1:]) != sorted(self.chars[1:]):
            raise DataError("vocab: symbols after the unknown symbol must be in code-point order")

    @classmethod
    def from_text(cls, text: str) -> "Vocab":
        return cls((UNK, *sorted(set(text) - {UNK})))

    @classmethod
    def from_dict(cls, data: dict) -> "Vocab":
        chars = data.get("chars") if isinstance(data, dict) else None
        if not isinstance(chars, list) or not all(isinstance(c, str) for c in chars):
            raise DataError("vocab: expected {'chars': [one-character strings]}")
        return cls(tuple(chars))

    def to_dict(self) -> dict:
        return {"chars": list(self.chars)}

    def __len__(self) -> int:
        return len(self.chars)

    @property
    def unk_id(self) -> int:
        return 0

    def encode(self, text: str) -> tuple[torch.Tensor, Counter]:
        """Ids of ``text`` as an int64 tensor (N,), and a Counter of the characters
        that were mapped to the unknown symbol (empty when all were known)."""
        # Vectorised lookup: code points (N,) against the sorted known code points.
        points = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)  # (N,)
        known = np.array([ord(c) for c in self.chars[1:]], dtype=np.uint32)  # sorted
        pos = np.searchsorted(known, points)  # (N,)
        pos_clipped = np.minimum(pos, max(len(known) - 1, 0))
        hit = known[pos_clipped] == points if len(known) else np.zeros(len(points), bool)
        ids = np.where(hit, pos_clipped + 1, 0).astype(np.int64)  # (N,)
        unseen: Counter = Counter()
        if not hit.all():
            unseen = Counter(chr(p) for p in points[~hit].tolist())
        return torch.from_numpy(ids), unseen

    def decode(self, ids) -> str:
        """Text for a sequence of ids; the unknown id decodes to U+FFFD."""
        if isinstance(ids, torch.Tensor):
            ids = ids.tolist()
        n = len(self.chars)
        out = []
        for i in ids:
            if not 0 <= int(i) < n:
                raise DataError(f"vocab: id {i} is out of range [0, {n})")
            out.append(self.chars[int(i)])
        return "".join(out)


def split_text(text: str, val_fraction: float = 0.05, boundary: str = "\n\n") -> tuple[str, str]:
    """Split ``text`` into (train, validation), validation being the last part.

    The cut starts at about ``len(text) * (1 - val_fraction)`` and moves forward to
    the next ``boundary`` (a blank line: the start of a speech or paragraph), so no
    line is split between the two. If no boundary follows, the cut stays where it is.
    The split is contiguous and held out: no validation character is in training.
    """
    if not 0.0 < val_fraction < 1.0:
        raise DataError(f"val_fraction: must be in (0, 1), saw {val_fraction}")
    cut = int(len(text) * (1.0 - val_fraction))
    if boundary:
        found = text.find(boundary, cut)
        if found != -1 and found + len(boundary) < len(text):
            cut = found + len(boundary)
    return text[:cut], text[cut:]


# how a too-short text's hint spells the sizes that fit, by default (``sizes``: the caller's own spelling)
CLI_SIZES = "--set train.batch_size={b} --set data.seq_len={t}"


class ContiguousBatches:
    """Chunks of B parallel streams for truncated BPTT with carried state.

    The ids (N,) are cut into B streams of S = (N - 1) // B characters each; stream
    b covers ids[b*S : (b+1)*S + 1] (one extra for the last target). Chunk k holds
    positions [k*T, k*T + T) of every stream, so the state at the end of chunk k is
    the right start for chunk k+1. The last chunk may be shorter than T. The
    (N - 1) mod B characters that do not fill a stream are left out.

    Iterating yields ``(x, y)``, both int64 of shape (T, B) (time-major). With
    ``max_chunks`` set, one pass stops after that many chunks; the next pass
    continues from there and wraps around (a "sub-epoch", for frequent validation).
    """

    #: Batches are B carried-state streams: distributed training deals out streams
    #: (columns), not whole batches (:func:`rnnkit.training.distributed.distributed_loader`).
    shards_by_stream = True

    def __init__(self, ids: torch.Tensor, batch_size: int, seq_len: int,
                 max_chunks: int | None = None, name: str = "text", sizes: str | None = None) -> None:
        if batch_size < 1:
            raise DataError(f"batch_size: must be >= 1, saw {batch_size}")
        if seq_len < 1:
            raise DataError(f"seq_len: must be >= 1, saw {seq_len}")
        n = int(ids.numel())
        need = batch_size * seq_len + 1
        if n < need:
            t = min(seq_len, max(1, (n - 1) // 2))  # sizes that fit: B * T + 1 <= n
            b = max(1, min(batch_size, (n - 1) // t))
            raise DataError(
                f"{name}: {n} characters is shorter than one training chunk, which needs "
                f"batch_size * seq_len + 1 = {batch_size} * {seq_len} + 1 = {need}; "
                f"use more text or smaller sizes, e.g. {(sizes or CLI_SIZES).format(b=b, t=t)}"
            )
        self.batch_size = batch_size
        self.seq_len = seq_len
        self.stream_len = (n - 1) // batch_size  # S
        s = self.stream_len
        flat = ids[: batch_size * s + 1]
        # Inputs: stream b is flat[b*S : (b+1)*S]; targets are shifted by one.
        self._x = flat[:-1].view(batch_size, s).t().contiguous()  # (S, B)
        self._y = flat[1:].view(batch_size, s).t().contiguous()  # (S, B)
        self.n_chunks = -(-s // seq_len)
        self.max_chunks = max_chunks
        self._next = 0  # chunk a sub-epoch pass starts from

    @property
    def chars_per_pass(self) -> int:
        """Characters predicted in one full pass over all chunks: S * B."""
        return self.stream_len * self.batch_size

    def __len__(self) -> int:
        if self.max_chunks is None:
            return self.n_chunks
        return min(self.max_chunks, self.n_chunks)

    def chunk(self, k: int) -> tuple[torch.Tensor, torch.Tensor]:
        start = k * self.seq_len
        stop = min(start + self.seq_len, self.stream_len)
        return self._x[start:stop], self._y[start:stop]  # (T, B), (T, B)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        if self.max_chunks is None:
            for k in range(self.n_chunks):
                yield self.chunk(k)
            return
        for _ in range(len(self)):
            k = self._next
            self._next = (self._next + 1) % self.n_chunks
            yield self.chunk(k)

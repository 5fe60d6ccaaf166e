"""What ``backend="auto"`` runs: a decision table filled from benchmarks/bench_layers.py.

A call is described by a :class:`Case`; :func:`choose` returns ``"rnnkit"`` (this
package's hand-written BPTT with the fused C++ loops) or ``"torch"`` (torch's fused
kernel: oneDNN for the float32 LSTM on CPU, ATen's per-step loop otherwise, cuDNN on
GPU). The first row of :data:`TABLE` whose conditions all hold decides; a case no row
matches goes to torch. The table is data so that docs/performance.md can print it and
tests/nn/test_backend_choice.py can fix its choices.

Before the table, the paths that only one side has:

- not on the CPU, or not float32/float64, or the fused C++ loops are not built
  (no compiler, ``RNNKIT_KERNELS=0``) or not used (``SEQUENCE_IMPL="functional"``, inside
  ``torch.func`` transforms): torch, except the cases of :data:`WITHOUT_FUSED`, which
  the Python BPTT loops won before the fused loops existed (GRU and RNN training).

Measured ratios (rnnkit / torch time, medians; docs/performance.md has the runs) are
in each row's ``why``.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

__all__ = ["Case", "Row", "TABLE", "WITHOUT_FUSED", "SMALL_CALL_ROWS", "choose", "decide"]

RNN_MODES = frozenset({"GRU", "RNN_TANH", "RNN_RELU"})
SMALL_CALL_ROWS = 8  # B·T at most this: a "small call" (Case.small_call)
LSTM = frozenset({"LSTM"})


@dataclass(frozen=True)
class Case:
    """One forward call, as the choice sees it."""

    mode: str  # "LSTM", "GRU", "RNN_TANH", "RNN_RELU"
    training: bool  # autograd records through the weights (a backward will follow)
    packed: bool  # PackedSequence input
    proj: bool  # LSTM with proj_size > 0
    hidden_size: int
    device: str = "cpu"
    dtype: torch.dtype = torch.float32
    fused: bool = True  # the fused C++ loops of rnnkit.nn.kernels will run
    small_call: bool = False  # at most SMALL_CALL_ROWS rows (B·T), e.g. generating one step


@dataclass(frozen=True)
class Row:
    """Conditions (None: any) and the path they choose."""

    choice: str
    modes: frozenset = LSTM | RNN_MODES
    training: bool | None = None
    packed: bool | None = None
    proj: bool | None = None
    max_hidden: int | None = None  # hidden_size <= max_hidden
    min_hidden: int | None = None  # hidden_size >= min_hidden
    dtype: torch.dtype | None = None
    small_call: bool | None = None
    why: str = ""

    def matches(self, case: Case) -> bool:
        return (
            case.mode in self.modes
            and (self.training is None or case.training == self.training)
            and (self.packed is None or case.packed == self.packed)
            and (self.proj is None or case.proj == self.proj)
            and (self.max_hidden is None or case.hidden_size <= self.max_hidden)
            and (self.min_hidden is None or case.hidden_size >= self.min_hidden)
            and (self.dtype is None or case.dtype == self.dtype)
            and (self.small_call is None or case.small_call == self.small_call)
        )


TABLE: tuple[Row, ...] = (
    Row("rnnkit", LSTM, proj=True,
        why="torch warns (no oneDNN kernel with projections) and runs its slow loop: "
            "fwd 0.79-0.84, fwd+bwd 0.65-0.74, tutorial shape 0.54 / 0.50"),
    Row("rnnkit", LSTM, training=True,
        why="fwd+bwd 0.71-1.00 unpacked, 0.08-0.83 packed (torch's packed backward is slow)"),
    Row("torch", LSTM, training=False, packed=True, max_hidden=16,
        why="packed tutorial shape: fwd 1.34"),
    Row("rnnkit", LSTM, training=False, packed=True, dtype=torch.float32,
        why="the fused packed loop: fwd 0.89-0.98 from H = 128"),
    Row("rnnkit", LSTM, training=False, packed=False, max_hidden=16,
        why="tiny recurrent weights: the kernels' own small-matrix loop; 0.83-1.05"),
    Row("rnnkit", LSTM, training=False, packed=False, small_call=True,
        why="B·T <= 8 (generation): oneDNN reorders its weights every call; 0.45-0.87"),
    Row("rnnkit", LSTM, training=False, packed=False, min_hidden=256, dtype=torch.float64,
        why="float64 has no oneDNN kernel: fwd 0.92-0.96 from H = 256 (1.07 at H = 128)"),
    Row("torch", LSTM, training=False,
        why="oneDNN's fused inference: rnnkit 1.12-1.22 unpacked"),
    Row("torch", RNN_MODES, packed=True, max_hidden=16,
        why="packed GRU/RNN run the Python loops: 1.2-1.5 at the tutorial shape"),
    Row("rnnkit", RNN_MODES, training=True,
        why="torch has no fused GRU/RNN on CPU: fwd+bwd 0.56-0.82, packed 0.22-0.42"),
    Row("torch", RNN_MODES, training=False, dtype=torch.float64,
        why="float64 gates use the scalar exp: fwd 1.10-1.14 (GRU)"),
    Row("rnnkit", RNN_MODES, training=False, packed=False,
        why="fwd 0.72-0.91 (the tutorial-shape RNN within noise of 1)"),
    Row("torch", RNN_MODES, training=False, packed=True,
        why="packed GRU/RNN inference runs the Python loops: 1.1-1.7"),
)

# Without the fused loops (Python BPTT loops only): GRU/RNN training still won (docs/nn.md).
WITHOUT_FUSED: tuple[Row, ...] = (
    Row("rnnkit", LSTM, proj=True, why="avoids torch's warning and slow projection loop"),
    Row("rnnkit", RNN_MODES, training=True, why="Python BPTT loops 0.66-0.91 fwd+bwd"),
)

_CACHE: dict[tuple, str] = {}


def choose(mode: str, training: bool, packed: bool, proj: bool, hidden_size: int,
           device: str = "cpu", dtype: torch.dtype = torch.float32, fused: bool = True,
           small_call: bool = False) -> str:
    """``"rnnkit"`` or ``"torch"`` for the call :class:`Case` describes (see the module
    doc); cached, since every forward asks."""
    key = (mode, training, packed, proj, hidden_size, device, dtype, fused, small_call)
    choice = _CACHE.get(key)
    if choice is None:
        choice = _CACHE[key] = decide(Case(*key))
    return choice


def decide(case: Case) -> str:
    """The table's answer for ``case``, uncached."""
    if case.device != "cpu" or case.dtype not in (torch.float32, torch.float64):
        return "torch"
    for row in TABLE if case.fused else WITHOUT_FUSED:
        if row.matches(case):
            return row.choice
    return "torch"

"""A fresh training run never writes over an earlier one unasked.

``rnnkit classify train`` and ``rnnkit text train`` write the trainer's files
(``config.json``, ``metrics.csv``, ``loss.png``, ``checkpoints/``) and their own
(``model/``, ``metrics.json``, ...) into ``--out``. Pointed by mistake at the folder of
an earlier run, a new run would replace its model and checkpoints: a trained model lost
for a typo. So a fresh run (no ``--resume``) into a folder that already holds a run stops
with one line, before any work, unless ``--overwrite`` is given; the forecast task keeps
the same rule with its own file list (:mod:`rnnkit.tasks.forecast.outputs`).

With ``--overwrite`` the new run replaces the earlier files as it writes its own (each
file atomically, as always). Files that no run writes (a user's notes) are never touched.
``--resume`` continues the run in the folder and is the opposite of ``--overwrite``.
"""
from __future__ import annotations

from pathlib import Path

from rnnkit.errors import ConfigError

__all__ = ["RUN_MARKERS", "earlier_run", "check_fresh_run", "check_exclusive"]

# Entries that only a training run writes: any of them means "a run lives here".
RUN_MARKERS = ("config.json", "metrics.csv", "metrics.json", "checkpoints", "model")


def earlier_run(out: Path) -> list[str]:
    """The names of :data:`RUN_MARKERS` present in ``out`` (folders with a trailing /)."""
    out = Path(out)
    if not out.is_dir():
        return []
    return [name + ("/" if (out / name).is_dir() else "") for name in RUN_MARKERS if (out / name).exists()]


def check_exclusive(resume: bool, overwrite: bool) -> None:
    """``--resume`` continues the run in a folder and ``--overwrite`` replaces it: not both."""
    if resume and overwrite:
        raise ConfigError("--overwrite and --resume exclude each other: --resume continues the run "
                          "in the folder, --overwrite replaces it")


def check_fresh_run(out: Path, *, resume: bool, overwrite: bool, task: str) -> None:
    """Raise a one-line :class:`ConfigError` when a fresh ``task`` run would write over an
    earlier run in ``out`` (see the module doc); a no-op with ``resume`` or ``overwrite``."""
    check_exclusive(resume, overwrite)
    if resume or overwrite:
        return
    found = earlier_run(out)
    if found:
        raise ConfigError(f"--out {str(out)!r} already holds a {task} run ({', '.join(found)}); pass "
                          f"--overwrite to replace it (other files there are kept), --resume {str(out)!r} "
                          "to continue it, or choose another --out")

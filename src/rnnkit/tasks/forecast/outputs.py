"""The files a forecast run writes into ``--out``, and what a new run does with old ones.

A ``forecast train`` or ``forecast backtest`` run owns these names in its folder::

    config.json metrics.json forecast.csv forecast.png       (train)
    backtest.json backtest.csv backtest.png run_fold<k>/     (backtest)
    model/  (model.safetensors, forecaster.json, run.json: the saved Forecaster)

A second run with other options into the same folder would otherwise leave a mix: an
old ``backtest.png`` beside a new ``forecast.csv``, a ``run_fold4/`` from a 5-fold run
beside a 3-fold one, a ``config.json`` that no longer describes the other files. So a
fresh run (no ``--resume``) into a folder that already holds any of them stops with
one line, before any work, unless ``--overwrite`` is given.

With ``--overwrite`` the earlier run's files stay until the new run has written its
own (each file atomically, as always): a run that fails midway (a full disk, a bad
fit, Ctrl-C) leaves the earlier results in place. Only after its last write does the
new run remove the earlier entries it did not write itself (:func:`remove_stale`;
inside ``model/`` and ``run_fold<k>/model/`` only the files listed above, and such a
folder once it is empty). Nothing else is ever removed: a user's own files stay.
``--resume`` keeps everything, as before.

Whatever the options, the input CSV is never one of the files a run writes over.
"""
from __future__ import annotations

import re
import shutil
from pathlib import Path

from rnnkit.errors import ConfigError
from rnnkit.training.atomic import TMP_PREFIX, out_dir, writing
from rnnkit.training.fresh_run import check_exclusive

__all__ = ["TRAIN_FILES", "BACKTEST_FILES", "RUN_FILES", "MODEL_FILES", "previous_run", "prepare_out",
           "remove_stale"]

TRAIN_FILES = ("config.json", "metrics.json", "forecast.csv", "forecast.png")  # and model/
BACKTEST_FILES = ("config.json", "backtest.json", "backtest.csv", "backtest.png")  # and run_fold<k>/
RUN_FILES = tuple(dict.fromkeys(TRAIN_FILES + BACKTEST_FILES))
MODEL_FILES = ("model.safetensors", "forecaster.json", "run.json")
_FOLD = re.compile(r"run_fold\d+")


def previous_run(out: Path) -> list[Path]:
    """The entries of ``out`` that a forecast run writes (files, ``model/``, ``run_fold<k>/``)."""
    found = [out / name for name in RUN_FILES if (out / name).is_file()]
    if (out / "model").is_dir():
        found.append(out / "model")
    found += sorted(p for p in out.iterdir() if p.is_dir() and _FOLD.fullmatch(p.name))
    return found


def _remove_model(folder: Path) -> None:
    """The saved Forecaster's files (and temps a killed save left); the folder once empty."""
    for child in folder.iterdir():
        if child.is_file() and (child.name in MODEL_FILES or child.name.startswith(TMP_PREFIX)):
            child.unlink()
    if not any(folder.iterdir()):
        folder.rmdir()


def _remove(entry: Path) -> None:
    if entry.is_file():
        entry.unlink()
    elif entry.name == "model":
        _remove_model(entry)
    else:  # run_fold<k>/ holds model/
        if (entry / "model").is_dir():
            _remove_model(entry / "model")
        if not any(entry.iterdir()):
            shutil.rmtree(entry)


def prepare_out(out: Path, data: str | None, *, resume: bool, overwrite: bool,
                writes: tuple[str, ...]) -> list[Path]:
    """Check and create ``out`` for a run that writes the files ``writes`` into it; see the
    module doc. Returns the earlier run's entries (empty unless ``overwrite``), for
    :func:`remove_stale` after the run's last write.

    ``data``: the input CSV (None for a bundled series), which must not be one of ``writes``.
    """
    check_exclusive(resume, overwrite)
    out = out_dir(Path(out))
    if data is not None and Path(data).exists():
        source = Path(data).resolve()
        for name in writes:
            if (out / name).resolve() == source:
                raise ConfigError(f"--data {data!r} is the {name} this run writes into --out {str(out)!r}; "
                                  "choose another --out")
    if resume:
        return []
    old = previous_run(out)
    if old and not overwrite:
        names = ", ".join(p.name + ("/" if p.is_dir() else "") for p in old)
        raise ConfigError(f"--out {str(out)!r} already holds a forecast run ({names}); pass --overwrite "
                          f"to replace it (other files there are kept), --resume {str(out)!r} to continue "
                          "it, or choose another --out")
    return old


def remove_stale(out: Path, old: list[Path], written: tuple[str, ...]) -> None:
    """Remove the entries of the earlier run ``old`` whose names the new run did not write."""
    with writing("--out", out):
        for entry in old:
            if entry.name not in written and entry.exists():
                _remove(entry)

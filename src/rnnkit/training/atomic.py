"""Atomic file and folder writes: a temp name in the same folder, then ``os.replace``.

A reader (or a resumed run after SIGKILL) sees either the old file or the new one,
never a half-written one. Temp names start with ``.tmp-`` so that
:func:`remove_stale_temps` can clear what a killed process left behind.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

__all__ = ["TMP_PREFIX", "atomic_write_bytes", "fsync_dir", "remove_stale_temps", "swap_dir"]

TMP_PREFIX = ".tmp-"


def fsync_dir(path: Path) -> None:
    """Flush a folder's entries to disk (no-op where folders cannot be opened)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that ``path`` is never seen half-written."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=TMP_PREFIX, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def swap_dir(new: Path, target: Path) -> None:
    """Move the complete folder ``new`` to ``target``, replacing any old ``target``.

    POSIX cannot rename a folder over a non-empty one, so the old folder is first
    renamed aside to ``.tmp-old-<name>`` and deleted after the swap. If a kill lands
    between the two renames, :func:`recover_dir` puts the old folder back.
    """
    old = target.parent / f"{TMP_PREFIX}old-{target.name}"
    if old.exists():
        shutil.rmtree(old)
    if target.exists():
        os.replace(target, old)
    os.replace(new, target)
    fsync_dir(target.parent)
    if old.exists():
        shutil.rmtree(old)


def recover_dir(target: Path) -> None:
    """Undo a swap interrupted between its two renames (old folder aside, no target)."""
    old = target.parent / f"{TMP_PREFIX}old-{target.name}"
    if not target.exists() and old.is_dir():
        os.replace(old, target)


def remove_stale_temps(folder: Path) -> None:
    """Delete ``.tmp-*`` files and folders left in ``folder`` by a killed writer."""
    folder = Path(folder)
    if not folder.is_dir():
        return
    for child in folder.iterdir():
        if child.name.startswith(TMP_PREFIX):
            if child.is_dir():
                shutil.rmtree(child, ignore_errors=True)
            else:
                child.unlink(missing_ok=True)

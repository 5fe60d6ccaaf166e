"""Atomic file and folder writes: a temp name in the same folder, then ``os.replace``.

A reader (or a resumed run after SIGKILL) sees either the old file or the new one,
never a half-written one. Temp names start with ``.tmp-`` so that
:func:`remove_stale_temps` can clear what a killed process left behind. Files and
folders end with the permissions the umask gives (``mkstemp``/``mkdtemp`` alone would
leave them 0600/0700).

Output errors (a read-only place, a file in the way, a full disk) become one line:
:func:`out_dir` and :func:`out_file` check a destination before any work, and
:func:`writing` turns an ``OSError`` while writing into an :class:`RnnkitError`
naming the option and the path.
"""
from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Callable, Iterator

from rnnkit.errors import RnnkitError

__all__ = ["TMP_PREFIX", "atomic_write_bytes", "atomic_write_with", "fsync_dir", "make_temp_dir",
           "finite_or_null", "out_dir", "out_file", "remove_stale_temps", "swap_dir", "umask", "write_json",
           "writing"]

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


def umask() -> int:
    """The process umask (read by setting it and putting it back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def make_temp_dir(target: Path) -> Path:
    """A ``.tmp-*`` folder beside ``target``, with the umask's permissions (not 0700)."""
    tmp = Path(tempfile.mkdtemp(prefix=f"{TMP_PREFIX}{target.name}-", dir=target.parent))
    os.chmod(tmp, 0o777 & ~umask())
    return tmp


def atomic_write_with(path: Path, write: Callable[[Path], None]) -> None:
    """Call ``write(tmp)`` on a temp name beside ``path`` (same suffix), then rename it over ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=TMP_PREFIX, suffix=path.suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        os.chmod(tmp, 0o666 & ~umask())
        write(tmp)
        with tmp.open("rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that ``path`` is never seen half-written."""
    atomic_write_with(path, lambda tmp: tmp.write_bytes(data))


def finite_or_null(data: Any) -> Any:
    """``data`` with every NaN or infinite float replaced by None (JSON null), at any depth."""
    if isinstance(data, float):
        return data if math.isfinite(data) else None
    if isinstance(data, dict):
        return {k: finite_or_null(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [finite_or_null(v) for v in data]
    return data


def write_json(path: Path, data: Any) -> None:
    """Write strictly valid JSON atomically: NaN/Infinity (never valid JSON) become null."""
    text = json.dumps(finite_or_null(data), indent=2, sort_keys=True, allow_nan=False) + "\n"
    atomic_write_bytes(Path(path), text.encode("utf-8"))


@contextlib.contextmanager
def writing(option: str, path: Path) -> Iterator[None]:
    """Turn an OSError inside the block into ``<option> '<path>' cannot be written: <reason>``."""
    try:
        yield
    except OSError as err:
        raise RnnkitError(f"{option} {str(path)!r} cannot be written: {err.strerror or err}") from None


def out_dir(path: Path, option: str = "--out") -> Path:
    """Create the output folder ``path`` (or accept an existing one); a file in the way is one line."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise RnnkitError(f"{option} {str(path)!r} is a file, not a folder")
    with writing(option, path):
        path.mkdir(parents=True, exist_ok=True)
        if not os.access(path, os.W_OK | os.X_OK):
            raise PermissionError(13, "Permission denied")
    return path


def out_file(path: Path, option: str = "--out") -> Path:
    """Check that the file ``path`` can be written: not a folder, its folder creatable and writable."""
    path = Path(path)
    if path.is_dir():
        raise RnnkitError(f"{option} {str(path)!r} is a folder; give a file name")
    parent = path.parent if str(path.parent) else Path(".")
    for above in (parent, *parent.parents):
        if above.exists():
            if not above.is_dir():
                raise RnnkitError(f"{option} {str(path)!r}: {str(above)!r} is a file, not a folder")
            break
    out_dir(parent, option)
    return path


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

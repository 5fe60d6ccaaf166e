"""Building the fused kernels: where a build is cached, who may build, and what is said.

The cache key
-------------
A build is valid only for the sources and flags it was compiled from, the interpreter
and torch it links against, the tools that compiled it and the CPU it targets
(``-march=native``). Each of these is one *part* of the key (:func:`key_parts`); the
cache folder is ``<root>/<sha256 of the parts>[:16]``, and the parts are written beside
the library as ``key.json``. Two virtual environments (or two torch builds) on one
machine so get folders of their own instead of rebuilding each other's, and when a
build is needed :func:`build_reason` compares the parts with the last build of the same
environment to say why, in one line.

The lock
--------
torch's builder guards a folder with a lock *file* that it deletes when done: a process
killed mid-build leaves it behind, and every later build waits for it forever. rnnkit
builds only while holding an OS lock on an open file (``fcntl.flock`` on
``rnnkit-build.lock``), which the operating system releases when the holder dies,
however it dies. Whoever holds it knows that no builder is alive, so a torch lock file
found then is stale and is removed. Waiting for a live builder is bounded by
``RNNKIT_KERNELS_LOCK_TIMEOUT`` seconds (default 300); after that :func:`acquire`
raises ``TimeoutError``, and the caller says so in one line and runs the Python loops.
Where ``fcntl`` does not exist (Windows) only torch's own lock file guards the folder.
"""
from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

import torch

__all__ = ["key_parts", "cache_root", "build_directory", "build_reason", "write_key",
           "acquire", "announce", "release", "lock_timeout"]

KEY_FILE = "key.json"
LOCK_FILE = "rnnkit-build.lock"
TORCH_LOCK_FILE = "lock"  # torch.utils.cpp_extension's FileBaton in the build folder
DEFAULT_LOCK_TIMEOUT = 300.0  # s; a build takes 60-85 s on two busy cores
_SAY_WAITING_AFTER = 1.0  # s of waiting for a builder before saying so


def _cpu_flags() -> str:
    """The CPU's instruction-set flags (a -march=native build runs only where they exist)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("flags", "Features")):
                return line
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _tool(command: str) -> str:
    """``<resolved path>: <first line of --version>`` for a build tool, or that it is missing."""
    path = shutil.which(command)
    if path is None:
        return f"{command}: not found"
    try:
        done = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30)
        lines = (done.stdout or done.stderr).strip().splitlines()
    except (OSError, subprocess.SubprocessError):
        lines = []
    return f"{os.path.realpath(path)}: {lines[0] if lines else 'version unknown'}"


def _short_hash(text: str | bytes) -> str:
    return hashlib.sha256(text.encode() if isinstance(text, str) else text).hexdigest()[:16]


def key_parts(files: list[Path], flags: list[str]) -> dict[str, str]:
    """Everything a build depends on, one readable string per part."""
    sources = hashlib.sha256()
    for path in files:
        sources.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    sources.update(" ".join(flags).encode())
    return {
        "sources": sources.hexdigest()[:16],
        # torch's ninja file names the sources by absolute path: another checkout rebuilds
        "folder": str(files[0].parent) if files else "",
        "interpreter": sys.executable,
        "environment": sys.prefix,
        "python": sys.version,
        "torch": f"{torch.__version__} (git {torch.version.git_version})",
        # torch.utils.cpp_extension compiles with $CXX, else c++ (cl on Windows)
        "compiler": _tool(os.environ.get("CXX") or ("cl" if os.name == "nt" else "c++")),
        "ninja": _tool("ninja"),
        "cpu": _short_hash(_cpu_flags()),
    }


def cache_root() -> Path:
    """``$RNNKIT_KERNELS_DIR``, else ``~/.cache/rnnkit/kernels``."""
    default = Path.home() / ".cache" / "rnnkit" / "kernels"
    return Path(os.environ.get("RNNKIT_KERNELS_DIR") or default)


def build_directory(parts: dict[str, str]) -> Path:
    """The cache folder of the build described by ``parts``."""
    return cache_root() / _short_hash(json.dumps(parts, sort_keys=True))


def write_key(where: Path, parts: dict[str, str]) -> None:
    """Record the parts of the build about to start in ``where`` (see :func:`build_reason`)."""
    (where / KEY_FILE).write_text(json.dumps(parts, indent=1, sort_keys=True) + "\n")


def _built(where: Path) -> bool:
    return any(where.glob("*.so")) or any(where.glob("*.pyd"))


def _earlier_builds(where: Path) -> list[dict]:
    """The parts of every other build under the cache root, newest first."""
    found = []
    for key in where.parent.glob(f"*/{KEY_FILE}"):
        if key.parent == where:
            continue
        try:
            found.append((key.stat().st_mtime, json.loads(key.read_text())))
        except (OSError, ValueError):
            continue
    return [parts for _, parts in sorted(found, key=lambda item: item[0], reverse=True)]


_CHANGES = {
    "sources": "the kernel sources changed",
    "folder": "the sources moved to {new}",
    "python": "Python changed",
    "torch": "torch changed ({old} -> {new})",
    "compiler": "the compiler changed ({new})",
    "ninja": "ninja changed ({new})",
    "cpu": "another CPU",
}


def build_reason(where: Path, parts: dict[str, str]) -> str | None:
    """Why the kernels must be built in ``where`` now, or None when they are built there."""
    if _built(where):
        return None
    if (where / KEY_FILE).exists():
        return "an earlier build here did not finish"
    earlier = _earlier_builds(where)
    if not earlier:
        return "first build"
    mine = [p for p in earlier if (p.get("interpreter"), p.get("environment"))
            == (parts["interpreter"], parts["environment"])]
    if not mine:
        return f"new environment {parts['environment']}"
    last = mine[0]
    changes = [_CHANGES[name].format(old=last.get(name), new=parts[name])
               for name in _CHANGES if last.get(name) != parts[name]]
    return ", ".join(changes) or "the cached build is gone"


def lock_timeout() -> float:
    """``$RNNKIT_KERNELS_LOCK_TIMEOUT`` in seconds, default 300."""
    value = os.environ.get("RNNKIT_KERNELS_LOCK_TIMEOUT", "").strip()
    if not value:
        return DEFAULT_LOCK_TIMEOUT
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not seconds >= 0:
        raise ValueError("RNNKIT_KERNELS_LOCK_TIMEOUT must be a number of seconds >= 0, "
                         f"got {value!r}")
    return seconds


def _holder(path: Path) -> tuple[str, bool]:
    """Who holds the lock (its pid, as the holder wrote it) and whether it is building
    (else it is only loading a built library, which takes a moment)."""
    try:
        words = path.read_text().split()
    except OSError:
        words = []
    who = f"process {words[0]}" if words and words[0].isdigit() else "another process"
    return who, "building" in words


def acquire(where: Path, timeout: float) -> IO | None:
    """Take the build lock of ``where``; returns the open lock file (None without fcntl).

    Waits while a live process holds it, saying so once after a second, and raises
    ``TimeoutError`` after ``timeout`` seconds. A torch lock file left in ``where`` by
    a builder that died is removed once the lock is held.
    """
    try:
        import fcntl
    except ImportError:  # Windows: torch's lock file alone
        return None
    path = where / LOCK_FILE
    handle = open(path, "a+")  # noqa: SIM115 (held until release)
    start, said = time.monotonic(), False
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            waited = time.monotonic() - start
            if waited >= timeout:
                handle.close()
                raise TimeoutError(
                    f"{_holder(path)[0]} held the kernel build lock {path} for over {timeout:g} s"
                ) from None
            who, building = _holder(path)
            if building and not said and waited >= _SAY_WAITING_AFTER:
                print(f"rnnkit: waiting for {who}, which is building the fused CPU kernels "
                      f"(at most {timeout:g} s)", file=sys.stderr, flush=True)
                said = True
            time.sleep(0.1)
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    (where / TORCH_LOCK_FILE).unlink(missing_ok=True)  # its owner is dead: we hold the lock
    return handle


def announce(handle: IO | None, where: Path, reason: str, parts: dict[str, str]) -> None:
    """Before a build: record its key, tell waiting processes, and say why in one line."""
    write_key(where, parts)
    if handle is not None:
        handle.write(" building")
        handle.flush()
    print(f"rnnkit: building the fused CPU kernels ({reason}; about a minute) in {where}",
          file=sys.stderr, flush=True)


def release(handle: IO | None) -> None:
    """Give the build lock back (closing the file releases the OS lock)."""
    if handle is not None:
        handle.close()

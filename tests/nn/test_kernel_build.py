"""Building the fused kernels: the cache key, the one-line messages and the build lock.

No test here compiles anything: ``torch.utils.cpp_extension.load`` is replaced by a
stand-in that takes torch's own lock file the way torch does (``FileBaton``) and
writes an empty library, so a stranded lock would hang exactly as it does for real.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch

from rnnkit.nn import kernels
from rnnkit.nn.kernels import build

SRC = Path(kernels.__file__).resolve().parents[3]
FILES = kernels.SOURCES + kernels.HEADERS
FLAGS = kernels.CFLAGS + kernels.LDFLAGS

# Run in a child process: cpp_extension.load replaced by a stand-in with torch's lock
# file; SLOW=1 makes it stop mid-"build" (holding torch's lock) until killed.
CHILD = textwrap.dedent("""
    import os, sys, time
    from pathlib import Path
    from torch.utils import cpp_extension
    from torch.utils.file_baton import FileBaton

    def load(name, build_directory, **kwargs):
        baton = FileBaton(os.path.join(build_directory, "lock"))
        if baton.try_acquire():
            try:
                if os.environ.get("SLOW") == "1":
                    print("building", flush=True)
                    time.sleep(600)
                Path(build_directory, name + ".so").write_bytes(b"")
            finally:
                baton.release()
        else:
            baton.wait()

    cpp_extension.load = load
    from rnnkit.nn import kernels
    print("available", kernels.available(), flush=True)
""")


def _child_env(root: Path, **extra: str) -> dict:
    env = dict(os.environ, RNNKIT_KERNELS_DIR=str(root), PYTHONPATH=str(SRC), **extra)
    env.pop("RNNKIT_KERNELS", None)
    return env


def _stderr_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def test_key_is_stable_for_one_interpreter_and_changes_with_another(monkeypatch, tmp_path):
    monkeypatch.setenv("RNNKIT_KERNELS_DIR", str(tmp_path))
    here = build.build_directory(build.key_parts(FILES, FLAGS))
    assert build.build_directory(build.key_parts(FILES, FLAGS)) == here
    assert here.parent == tmp_path
    monkeypatch.setattr(sys, "executable", "/elsewhere/venv/bin/python")
    monkeypatch.setattr(sys, "prefix", "/elsewhere/venv")
    other = build.build_directory(build.key_parts(FILES, FLAGS))
    assert other != here
    assert build.build_directory(build.key_parts(FILES, FLAGS)) == other


def test_key_changes_with_the_torch_build_and_the_compiler(monkeypatch, tmp_path):
    base = build.key_parts(FILES, FLAGS)
    monkeypatch.setattr(torch.version, "git_version", "0" * 40)
    assert build.key_parts(FILES, FLAGS)["torch"] != base["torch"]
    fake = tmp_path / "fake-c++"
    fake.write_text("#!/bin/sh\necho 'fake c++ 99.1'\n")
    fake.chmod(0o755)
    monkeypatch.setenv("CXX", str(fake))
    parts = build.key_parts(FILES, FLAGS)
    assert parts["compiler"] == f"{fake}: fake c++ 99.1"
    assert build.build_directory(parts) != build.build_directory(base)


def test_build_reason_names_what_changed(monkeypatch, tmp_path):
    monkeypatch.setenv("RNNKIT_KERNELS_DIR", str(tmp_path))
    parts = build.key_parts(FILES, FLAGS)
    first = build.build_directory(parts)
    first.mkdir()
    assert build.build_reason(first, parts) == "first build"
    build.write_key(first, parts)
    assert build.build_reason(first, parts) == "an earlier build here did not finish"
    (first / "rnnkit_kernels.so").write_bytes(b"")
    assert build.build_reason(first, parts) is None

    newer = dict(parts, torch="9.9.9 (git abc)")
    assert build.build_reason(build.build_directory(newer), newer) == (
        f"torch changed ({parts['torch']} -> 9.9.9 (git abc))"
    )
    venv = dict(parts, interpreter="/other/bin/python", environment="/other")
    assert build.build_reason(build.build_directory(venv), venv) == "new environment /other"


def test_a_build_prints_one_line_saying_why_and_a_cached_one_prints_nothing(
        monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("RNNKIT_KERNELS_DIR", str(tmp_path))
    monkeypatch.delenv("RNNKIT_KERNELS", raising=False)
    from torch.utils import cpp_extension

    def load(name, build_directory, **kwargs):
        Path(build_directory, name + ".so").write_bytes(b"")

    monkeypatch.setattr(cpp_extension, "load", load)
    kernels._load()
    lines = _stderr_lines(capsys.readouterr().err)
    assert len(lines) == 1
    assert lines[0].startswith("rnnkit: building the fused CPU kernels (first build;")
    kernels._load()
    assert capsys.readouterr().err == ""
    monkeypatch.setattr(sys, "prefix", "/another/venv")  # a second environment, same torch
    kernels._load()
    lines = _stderr_lines(capsys.readouterr().err)
    assert len(lines) == 1
    assert "(new environment /another/venv;" in lines[0]


def test_a_build_killed_holding_the_lock_does_not_strand_the_next_one(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", CHILD], env=_child_env(tmp_path, SLOW="1"),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "building"  # inside torch's lock now
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    stale = list(tmp_path.glob("*/lock"))
    assert len(stale) == 1  # torch's lock file, left behind by the killed build

    nxt = subprocess.run([sys.executable, "-c", CHILD], env=_child_env(tmp_path), timeout=120,
                         capture_output=True, text=True)
    assert nxt.returncode == 0, nxt.stderr
    assert "available" in nxt.stdout
    lines = _stderr_lines(nxt.stderr)
    assert len(lines) == 1, nxt.stderr
    assert "(an earlier build here did not finish;" in lines[0]
    assert not stale[0].exists()


def test_a_live_builder_is_waited_for_with_a_bound_then_python_loops(monkeypatch, tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", CHILD], env=_child_env(tmp_path, SLOW="1"),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "building"  # holds the build lock, alive
        start = time.monotonic()
        waiter = subprocess.run(
            [sys.executable, "-c", CHILD], timeout=120, capture_output=True, text=True,
            env=_child_env(tmp_path, RNNKIT_KERNELS_LOCK_TIMEOUT="2"),
        )
        took = time.monotonic() - start
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    assert waiter.returncode == 0, waiter.stderr
    assert waiter.stdout.strip() == "available False"
    assert took < 60
    lines = _stderr_lines(waiter.stderr)
    assert "Traceback" not in waiter.stderr
    assert lines[-1] == (
        "rnnkit: fused CPU kernels unavailable, using the Python loops (process "
        f"{holder.pid} held the kernel build lock {next(tmp_path.glob('*/rnnkit-build.lock'))} "
        "for over 2 s)"
    )
    assert lines[:-1] == [f"rnnkit: waiting for process {holder.pid}, which is building the "
                          "fused CPU kernels (at most 2 s)"]


@pytest.mark.skipif(os.name == "nt", reason="no fcntl")
def test_waiting_is_said_only_for_a_builder(tmp_path, capsys):
    holder = build.acquire(tmp_path, 0)  # another open file: flock excludes it too
    try:
        with pytest.raises(TimeoutError, match=f"process {os.getpid()} held the kernel build lock"):
            build.acquire(tmp_path, 1.5)  # the holder is only loading: nothing said
        assert capsys.readouterr().err == ""
        build.announce(holder, tmp_path, "first build", {"sources": "x"})
        assert capsys.readouterr().err.startswith("rnnkit: building the fused CPU kernels (first")
        with pytest.raises(TimeoutError):
            build.acquire(tmp_path, 1.5)
        assert _stderr_lines(capsys.readouterr().err) == [
            f"rnnkit: waiting for process {os.getpid()}, which is building the fused CPU "
            "kernels (at most 1.5 s)"]
    finally:
        build.release(holder)
    build.release(build.acquire(tmp_path, 0))  # free again once released


@pytest.mark.parametrize("value", ["-1", "soon"])
def test_a_bad_lock_timeout_is_named(monkeypatch, value):
    monkeypatch.setenv("RNNKIT_KERNELS_LOCK_TIMEOUT", value)
    with pytest.raises(ValueError, match=f"RNNKIT_KERNELS_LOCK_TIMEOUT must be a number of "
                                         f"seconds >= 0, got '{value}'"):
        build.lock_timeout()

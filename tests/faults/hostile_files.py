"""Builders of hostile and broken model folders, and a runner that feeds each to `rnnkit export`.

Run as a script (``python hostile_files.py WORKDIR``) it builds every case, runs the
export command on each in this one process and prints a JSON report: exit code,
stderr, whether a marker file appeared, and the peak resident memory.
"""
from __future__ import annotations

import builtins
import json
import math
import pickle
import resource
import struct
import sys
from pathlib import Path

import torch
from safetensors.torch import save as st_save


class Evil:
    """Unpickling this creates the marker file."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (builtins.open, (self.marker, "w"))


class MemoryBomb:
    """Unpickling this asks for a terabyte."""

    def __reduce__(self):
        return (bytearray, (1 << 40,))


def _header_file(header: dict, payload: bytes = b"") -> bytes:
    raw = json.dumps(header).encode()
    return struct.pack("<Q", len(raw)) + raw + payload


def cases(marker: Path) -> dict[str, bytes]:
    """name -> bytes to put in model.safetensors."""
    good = st_save({"w": torch.zeros(4, 4)})
    return {
        "pickle_reduce": pickle.dumps(Evil(marker)),
        "pickle_memory_bomb": pickle.dumps(MemoryBomb()),
        "torch_archive": _torch_archive(marker),
        "truncated": good[: len(good) // 2],
        "tiny": b"\x01\x02",
        "absurd_header_length": struct.pack("<Q", 2**63 - 1) + b"{}",
        "header_longer_than_file": struct.pack("<Q", 60_000_000) + b'{"a": 1}',
        "huge_tensor_claimed": _header_file(
            {"w": {"dtype": "F32", "shape": [1 << 20, 1 << 20], "data_offsets": [0, 1 << 42]}}
        ),
        "shape_disagrees_with_offsets": _header_file(
            {"w": {"dtype": "F32", "shape": [1 << 20, 1 << 20], "data_offsets": [0, 4]}}, b"\0" * 4
        ),
    }


def _torch_archive(marker: Path) -> bytes:
    import io

    buf = io.BytesIO()
    torch.save({"w": Evil(marker)}, buf)
    return buf.getvalue()


def write_case(run: Path, data: bytes) -> None:
    (run / "model" / "model.safetensors").write_bytes(data)


def nan_weights(run: Path) -> None:
    """Put one NaN into ``rnn.weight_hh_l0`` of a valid model folder (still valid safetensors)."""
    from safetensors.torch import load_file, save_file

    path = run / "model" / "model.safetensors"
    tensors = load_file(str(path))
    tensors["rnn.weight_hh_l0"][1, 2] = math.nan
    save_file(tensors, str(path))


def main(workdir: Path) -> None:
    from typer.testing import CliRunner

    from rnnkit.cli.app import app
    from tests.export.helpers import classifier_dir

    runner = CliRunner()
    marker = workdir / "pwned"
    report = {}
    names = list(cases(marker)) + ["nan_weights"]
    for name in names:
        run = classifier_dir(workdir / name)
        if name == "nan_weights":
            nan_weights(run)
        else:
            write_case(run, cases(marker)[name])
        res = runner.invoke(app, ["export", "--model", str(run), "--format", "torchscript",
                                  "--out", str(workdir / f"{name}.pt")])
        report[name] = {"exit": res.exit_code, "stderr": res.stderr, "stdout": res.stdout,
                        "exception": type(res.exception).__name__ if res.exception else None,
                        "written": (workdir / f"{name}.pt").exists()}
    report["_marker_exists"] = marker.exists()
    report["_maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(report))


if __name__ == "__main__":
    main(Path(sys.argv[1]))

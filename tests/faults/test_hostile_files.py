"""Hostile model files: refused with one line, nothing executed, nothing exhausts memory."""
from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tests.faults import hostile_files as hf

pytestmark = pytest.mark.hostile_files

REPO = Path(__file__).resolve().parents[2]
M = r"'[^']*/model/model\.safetensors'"  # the file, as the message quotes it
EXPECTED = {
    "pickle_reduce": rf"^error: {M} is a pickle/torch archive, not safetensors; refusing to load it\n$",
    "pickle_memory_bomb": rf"^error: {M} is a pickle/torch archive, not safetensors; refusing to load it\n$",
    "torch_archive": rf"^error: {M} is a pickle/torch archive, not safetensors; refusing to load it\n$",
    "truncated": rf"^error: {M} is truncated: header says \d+ bytes but the file has \d+ after the length\n$",
    "tiny": rf"^error: {M} is truncated: 2 bytes, no safetensors header\n$",
    "absurd_header_length": rf"^error: {M} has an oversized safetensors header: 9223372036854775807 bytes "
                            r"\(limit 104857600\)\n$",
    "header_longer_than_file": rf"^error: {M} is truncated: header says 60000000 bytes but the file has 8 "
                               r"after the length\n$",
    "huge_tensor_claimed": rf"^error: {M} is truncated: tensor 'w' ends at byte 4398046511104 of a 0-byte "
                           r"payload\n$",
    "shape_disagrees_with_offsets": rf"^error: {M} is not a valid safetensors file: .+\n$",
    "nan_weights": rf"^error: {M}: tensor 'rnn\.weight_hh_l0' holds NaN/Inf; refusing to load it\n$",
}


CAP_ADDRESS_SPACE = torch.version.cuda is None  # CUDA builds reserve far more than they use


def _limit_memory():  # a safety net: a real bomb fails here instead of hurting the machine
    if CAP_ADDRESS_SPACE:
        resource.setrlimit(resource.RLIMIT_AS, (8 << 30, 8 << 30))


@pytest.mark.skipif(not hasattr(resource, "RLIMIT_AS"), reason="needs RLIMIT_AS")
def test_every_hostile_file_is_refused_in_one_line(tmp_path):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "src")])}
    proc = subprocess.run([sys.executable, str(Path(hf.__file__)), str(tmp_path)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300, preexec_fn=_limit_memory)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report.pop("_marker_exists") is False  # no pickle ran
    assert report.pop("_maxrss_mb") < 1500  # nothing was allocated for the claimed sizes
    assert set(report) == set(EXPECTED)
    for name, row in report.items():
        assert row["exit"] == 2, (name, row)
        assert row["exception"] == "SystemExit", (name, row)  # typer.Exit(2): no traceback
        assert row["stdout"] == "", (name, row)
        assert __import__("re").match(EXPECTED[name], row["stderr"]), (name, row["stderr"])
        assert not row["written"], name


# A first byte 0x80 is also a header length of 128 + 256k: such a valid file must load.
def test_valid_file_whose_header_length_starts_with_0x80_loads(tmp_path):
    import struct

    import torch
    from safetensors.torch import save

    from rnnkit.training.checkpoint import read_safetensors

    for n in range(1, 300):  # find metadata that makes the header exactly 128 + 256k bytes long
        data = save({"w": torch.arange(3.0)}, metadata={"note": "x" * n})
        if struct.unpack("<Q", data[:8])[0] % 256 == 0x80:
            break
    (tmp_path / "ok.safetensors").write_bytes(data)
    assert torch.equal(read_safetensors(tmp_path / "ok.safetensors")["w"], torch.arange(3.0))

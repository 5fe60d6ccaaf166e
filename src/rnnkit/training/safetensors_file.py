"""One safetensors file, read safely: its header checked by hand (sizes, offsets, dtypes, no
pickle or zip) before the library sees a byte of the payload, and NaN/Inf refused on request.
What a model folder or checkpoint holds around it is :mod:`rnnkit.training.checkpoint`."""
from __future__ import annotations

import math
import os
import struct
from pathlib import Path

import torch
from safetensors.torch import load as st_load

from rnnkit.errors import CheckpointError
from rnnkit.training.atomic import recover_dir
from rnnkit.training.jsonio import parse_json_object

__all__ = ["DTYPES", "MAX_HEADER_BYTES", "ZIP_MAGIC", "need_file", "read_header", "read_safetensors",
           "read_finite_safetensors"]

MAX_HEADER_BYTES = 100 * 1024 * 1024
ZIP_MAGIC = b"PK\x03\x04"


def need_file(path: Path) -> None:
    """A one-line CheckpointError unless ``path`` is a file in an existing folder (an interrupted
    folder swap is undone first)."""
    recover_dir(path.parent)
    if not path.parent.is_dir():
        raise CheckpointError(f"checkpoint folder {str(path.parent)!r} does not exist")
    if not path.is_file():
        raise CheckpointError(f"{str(path)!r} is missing")


# safetensors dtype tag -> (torch dtype, bytes per element)
DTYPES = {
    "F64": (torch.float64, 8), "F32": (torch.float32, 4), "F16": (torch.float16, 2),
    "BF16": (torch.bfloat16, 2), "I64": (torch.int64, 8), "I32": (torch.int32, 4),
    "I16": (torch.int16, 2), "I8": (torch.int8, 1), "U8": (torch.uint8, 1), "BOOL": (torch.bool, 1),
}


def _memory_bytes() -> int:
    """Physical memory of this machine (a bound no real weights file can exceed)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 1 << 40


def read_header(path: str | Path) -> dict[str, dict]:
    """The checked safetensors header of ``path`` (tensor name -> dtype, shape, data_offsets).

    Only the first ``8 + header length`` bytes are read. Rules, each a one-line
    CheckpointError: not a pickle or zip; at least 8 bytes; header length at most
    MAX_HEADER_BYTES and within the file; a JSON object; every tensor has a known dtype,
    a shape of non-negative ints and data_offsets [a, b] with b - a = prod(shape) * itemsize,
    inside the payload; the payload is exactly as long as the tensors declare, and no
    longer than this machine's memory.
    """
    path = Path(path)
    need_file(path)
    where = str(path)
    size = path.stat().st_size
    with path.open("rb") as fh:
        head = fh.read(9)
        # A pickle starts with 0x80 (PROTO); so may a valid header length (128 + 256k), but
        # then byte 8 opens the JSON header.
        if (head[:1] == b"\x80" and head[8:9] != b"{") or head[:4] == ZIP_MAGIC:
            raise CheckpointError(f"{where!r} is a pickle/torch archive, not safetensors; refusing to load it")
        if size < 8:
            raise CheckpointError(f"{where!r} is truncated: {size} bytes, no safetensors header")
        (header_len,) = struct.unpack("<Q", head[:8])
        if header_len > MAX_HEADER_BYTES:
            raise CheckpointError(
                f"{where!r} has an oversized safetensors header: {header_len} bytes (limit {MAX_HEADER_BYTES})"
            )
        if 8 + header_len > size:
            raise CheckpointError(
                f"{where!r} is truncated: header says {header_len} bytes but the file has {size - 8} after the length"
            )
        fh.seek(8)
        raw = fh.read(header_len)
    header = parse_json_object(raw, f"{where!r} has a corrupt safetensors header: it")
    payload = size - 8 - header_len
    tensors = {name: info for name, info in header.items() if name != "__metadata__"}
    declared = 0
    for name, info in tensors.items():
        offsets = info.get("data_offsets") if isinstance(info, dict) else None
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(type(o) is int for o in offsets)):
            raise CheckpointError(f"{where!r}: tensor {name!r} has no valid data_offsets")
        if offsets[1] > payload:
            raise CheckpointError(
                f"{where!r} is truncated: tensor {name!r} ends at byte {offsets[1]} of a {payload}-byte payload"
            )
        dtype, shape = info.get("dtype"), info.get("shape")
        if dtype not in DTYPES:
            raise CheckpointError(f"{where!r} is not a valid safetensors file: tensor {name!r} has dtype {dtype!r}")
        if not (isinstance(shape, list) and all(type(d) is int and d >= 0 for d in shape)):
            raise CheckpointError(f"{where!r} is not a valid safetensors file: tensor {name!r} has shape {shape!r}")
        nbytes = math.prod(shape) * DTYPES[dtype][1]
        if not 0 <= offsets[0] <= offsets[1] or offsets[1] - offsets[0] != nbytes:
            raise CheckpointError(
                f"{where!r} is not a valid safetensors file: tensor {name!r} of shape {shape} {dtype} "
                f"needs {nbytes} bytes but its data_offsets {offsets} span {offsets[1] - offsets[0]}"
            )
        declared = max(declared, offsets[1])
    if payload != declared:
        raise CheckpointError(
            f"{where!r} has {payload} bytes of tensor data but its header declares {declared}; refusing to read it"
        )
    if declared > _memory_bytes():
        raise CheckpointError(
            f"{where!r} declares {declared} bytes of weights, more than this machine's memory; refusing to read it"
        )
    return tensors


def read_safetensors(path: str | Path) -> dict[str, torch.Tensor]:
    """Read a safetensors file after checking its header by hand (:func:`read_header`)."""
    path = Path(path)
    read_header(path)
    data = path.read_bytes()
    try:
        return st_load(data)
    except Exception as err:  # safetensors raises its own Rust-side error types
        msg = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise CheckpointError(f"{str(path)!r} is not a valid safetensors file: {msg}") from None


def read_finite_safetensors(path: str | Path) -> dict[str, torch.Tensor]:
    """:func:`read_safetensors`, refusing any floating-point tensor that holds NaN/Inf."""
    tensors = read_safetensors(path)
    for name, t in tensors.items():
        if t.is_floating_point() and not bool(torch.isfinite(t).all()):
            raise CheckpointError(f"{str(path)!r}: tensor {name!r} holds NaN/Inf; refusing to load it")
    return tensors

"""The one reader of JSON-object files (model.json, config.json, forecast.json, ...).

Every failure is one line naming the file: missing, not (UTF-8) JSON, nested too
deeply, too large, or not an object. Writing goes through :func:`save_json` in
``training.config`` (atomic: a temp file in the same folder, then ``os.replace``).
"""
from __future__ import annotations

import json
from pathlib import Path

from rnnkit.errors import CheckpointError, RnnkitError

__all__ = ["read_json_object", "parse_json_object", "MAX_JSON_BYTES"]

#: Our JSON files are small (a vocabulary is the largest part); refuse anything larger
#: before reading it.
MAX_JSON_BYTES = 64 * 1024 * 1024


def read_json_object(path: str | Path, error: type[RnnkitError] = CheckpointError,
                     context: str = "") -> dict:
    """``path`` parsed as a JSON object; anything else raises ``error`` (one line).

    ``context`` prefixes the message (e.g. ``"--resume: "``).
    """
    path = Path(path)
    where = f"{context}{str(path)!r}"
    if not path.is_file():
        raise error(f"{where} is missing")
    size = path.stat().st_size
    if size > MAX_JSON_BYTES:
        raise error(f"{where} is {size} bytes, more than any rnnkit JSON file ({MAX_JSON_BYTES})")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise error(f"{where} is not valid JSON: {err}") from None
    return parse_json_object(text, where, error)


def parse_json_object(raw: bytes | str, where: str,
                      error: type[RnnkitError] = CheckpointError) -> dict:
    """``raw`` (UTF-8 bytes or text) parsed as a JSON object; ``where`` names it in the
    one-line ``error`` (a file, or a part of one such as a safetensors header)."""
    try:
        data = json.loads(raw.decode("utf-8") if isinstance(raw, bytes) else raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise error(f"{where} is not valid JSON: {err}") from None
    except RecursionError:
        raise error(f"{where} is not valid JSON: nested too deeply") from None
    if not isinstance(data, dict):
        raise error(f"{where} must hold a JSON object, got {type(data).__name__}")
    return data

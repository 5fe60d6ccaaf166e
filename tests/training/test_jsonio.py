"""The one JSON-object reader: every failure is one line naming the file."""
from __future__ import annotations

import pytest

from rnnkit.errors import CheckpointError, ConfigError
from rnnkit.training.jsonio import read_json_object


def test_reads_an_object(tmp_path):
    path = tmp_path / "a.json"
    path.write_text('{"task": "text", "format": 1}', encoding="utf-8")
    assert read_json_object(path) == {"task": "text", "format": 1}


@pytest.mark.parametrize("content,rule", [
    (None, "is missing"),
    (b"\x80\x81", "is not valid JSON: 'utf-8' codec"),
    (b"{nope", "is not valid JSON: Expecting property name"),
    (b"[1, 2]", "must hold a JSON object, got list"),
    (b"[" * 100_000 + b"]" * 100_000, "is not valid JSON: nested too deeply"),
])
def test_each_failure_is_one_line_naming_the_file(tmp_path, content, rule):
    path = tmp_path / "model.json"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(CheckpointError) as err:
        read_json_object(path)
    message = str(err.value)
    assert message.startswith(f"{str(path)!r} {rule}") and "\n" not in message


def test_context_and_error_class(tmp_path):
    with pytest.raises(ConfigError, match=r"^--resume: '.*config\.json' is missing$"):
        read_json_object(tmp_path / "config.json", ConfigError, context="--resume: ")

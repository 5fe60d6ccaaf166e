"""The Python snippets of docs/tutorial.md's diagnostics section run and print what it says."""
from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "tutorial.md"
SECTION = "## Seeing backpropagation through time"


def _section() -> str:
    text = DOC.read_text(encoding="utf-8")
    start = text.index(SECTION)
    end = text.find("\n## ", start + len(SECTION))
    return text[start:] if end < 0 else text[start:end]


def test_the_python_snippets_run_and_print_the_documented_lines():
    blocks = re.findall(r"```python\n(.*?)```", _section(), flags=re.S)
    assert blocks, "the section has Python snippets"
    for code in blocks:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(code, str(DOC), "exec"), {})
        documented = re.findall(r"^# (?:prints|→) (.*)$", code, flags=re.M)
        for line in documented:
            assert line in out.getvalue(), (line, out.getvalue())

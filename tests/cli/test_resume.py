"""`--resume DIR` means the same for every train command: DIR's config.json is the base."""
from __future__ import annotations

import pytest
from typer.testing import CliRunner

from rnnkit.cli.app import app

COMMANDS = [["forecast", "train"], ["text", "train"], ["classify", "train"], ["tutorial"]]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_a_missing_run_folder_is_the_same_one_line(tmp_path, command):
    nope = tmp_path / "nope"
    result = CliRunner().invoke(app, [*command, "--resume", str(nope)])
    assert result.exit_code == 2
    assert result.output.strip() == f"error: --resume: run folder {str(nope)!r} does not exist"


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_a_folder_without_config_json_is_the_same_one_line(tmp_path, command):
    result = CliRunner().invoke(app, [*command, "--resume", str(tmp_path)])
    assert result.exit_code == 2
    want = f"error: --resume: {str(tmp_path / 'config.json')!r} is missing; is this a run folder?"
    assert result.output.strip() == want

import pytest
import torch.distributed as dist
from typer.testing import CliRunner

from rnnkit import __version__
from rnnkit.cli.app import app, main
from tests.training import distributed_helpers as dh

runner = CliRunner()


def test_version_prints_package_version():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == f"rnnkit {__version__}"


def test_help_lists_usage():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "Usage" in result.stdout


def test_main_leaves_an_active_process_group_when_the_command_ends(monkeypatch):
    """Under torchrun rank 0 goes on after training; main destroys its gloo group before exit."""
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{dh.free_port()}", rank=0, world_size=1)
    try:
        monkeypatch.setattr("sys.argv", ["rnnkit", "--version"])
        with pytest.raises(SystemExit) as done:
            main()
        assert done.value.code == 0
        assert not dist.is_initialized()
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()

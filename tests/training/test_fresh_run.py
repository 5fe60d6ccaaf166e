"""`rnnkit.training.fresh_run`: what counts as an earlier run, and the one-line refusal."""
from __future__ import annotations

import pytest

from rnnkit.errors import ConfigError
from rnnkit.training.fresh_run import RUN_MARKERS, check_exclusive, check_fresh_run, earlier_run


def test_an_empty_or_missing_folder_holds_no_run(tmp_path):
    assert earlier_run(tmp_path / "absent") == []
    (tmp_path / "notes.txt").write_text("mine")  # a user's file is not a run
    assert earlier_run(tmp_path) == []
    check_fresh_run(tmp_path, resume=False, overwrite=False, task="classify")  # no error


@pytest.mark.parametrize("marker", RUN_MARKERS)
def test_each_marker_alone_is_an_earlier_run(tmp_path, marker):
    if "." in marker:
        (tmp_path / marker).write_text("{}")
    else:
        (tmp_path / marker).mkdir()
    assert earlier_run(tmp_path) == [marker + ("" if "." in marker else "/")]
    with pytest.raises(ConfigError) as err:
        check_fresh_run(tmp_path, resume=False, overwrite=False, task="text")
    message = str(err.value)
    assert "\n" not in message and repr(str(tmp_path)) in message and "a text run" in message
    assert "--overwrite" in message and "--resume" in message


def test_overwrite_or_resume_lets_the_run_go_on(tmp_path):
    (tmp_path / "model").mkdir()
    check_fresh_run(tmp_path, resume=True, overwrite=False, task="classify")
    check_fresh_run(tmp_path, resume=False, overwrite=True, task="classify")


def test_overwrite_and_resume_exclude_each_other(tmp_path):
    with pytest.raises(ConfigError, match="exclude each other"):
        check_exclusive(True, True)
    with pytest.raises(ConfigError, match="exclude each other"):
        check_fresh_run(tmp_path, resume=True, overwrite=True, task="classify")

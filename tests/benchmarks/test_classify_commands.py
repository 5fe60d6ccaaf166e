"""bench_classify --commands: the printed CLI command, split as a shell splits it, sets what the
benchmark's own configuration sets (a list-valued --set reaches the config as a list)."""
from __future__ import annotations

import importlib.util
import shlex
import sys
from pathlib import Path

import pytest

from rnnkit.tasks.classify.config import ClassifyConfig, default_config
from rnnkit.training.config import apply_overrides, from_dict, to_dict

_DIR = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture(scope="module")
def bench():
    sys.path.insert(0, str(_DIR))  # its digits_views beside it
    try:
        spec = importlib.util.spec_from_file_location("bench_classify", _DIR / "bench_classify.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(_DIR))
    return module


@pytest.mark.parametrize("task", ["digits", "jv"])
def test_the_printed_command_sets_the_benchmarks_configuration(bench, task):
    words = shlex.split(bench.command_for(task))
    flags = {"--label-pattern": "data.label_pattern", "--group-pattern": "data.group_pattern"}
    overrides = [f"{flags[w]}='{words[i + 1]}'" if w in flags else words[i + 1]
                 for i, w in enumerate(words) if w == "--set" or w in flags]
    printed = to_dict(from_dict(ClassifyConfig, apply_overrides(default_config(), overrides)))
    wanted = to_dict(bench.config_for(task, 0))
    for section in ("model", "data", "audio"):
        assert printed[section] == wanted[section]
    if task == "digits":
        assert printed["model"]["input_norm"] == ["utterance", "batch"]

"""bench_classify --commands: the printed CLI command, split as a shell splits it, sets what the
benchmark's own configuration sets (a list-valued --set reaches the config as a list)."""
from __future__ import annotations

import shlex

import pytest

from rnnkit.tasks.classify.config import ClassifyConfig, default_config
from rnnkit.training.config import apply_overrides, from_dict, to_dict
from tests.benchmarks.helpers import load_benchmark


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("bench_classify")  # its digits_views beside it


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

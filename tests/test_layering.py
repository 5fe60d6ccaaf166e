"""Imports point one way: cli → tasks / export → training / models / data → nn.

``training`` (what every task uses) never imports a task, a model or a data reader; a
task's own modules live in ``tasks/<task>/``.

``reference`` depends on NumPy (and rnnkit.errors) alone. The check reads every module's
absolute imports with ``ast``, so a new upward or circular import fails here.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "rnnkit"

# For each subpackage, the rnnkit subpackages it may import (besides itself).
ALLOWED = {
    "errors": set(),
    "datasets": {"errors"},
    "reference": {"errors"},
    "nn": {"errors"},
    "data": {"errors", "datasets"},
    "models": {"errors", "nn", "data"},
    "training": {"errors"},
    "tasks": {"errors", "nn", "data", "models", "datasets", "training"},
    "export": {"errors", "nn", "data", "models", "training"},
    "diagnostics": {"errors", "nn", "models", "training"},
    "cli": {"errors", "nn", "data", "models", "datasets", "training", "reference", "tasks", "export",
            "diagnostics"},
}


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _modules():
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC)
        if len(rel.parts) > 1 or rel.stem in ALLOWED:
            yield path, rel.parts[0] if len(rel.parts) > 1 else rel.stem


@pytest.mark.parametrize("path,package", list(_modules()), ids=lambda v: str(v)[-40:])
def test_imports_point_one_way(path, package):
    bad = set()
    for name in _imports(path):
        parts = name.split(".")
        if package == "reference" and parts[0] not in {"numpy", "rnnkit"} and parts[0] in {
            "torch", "pandas", "typer", "rich", "matplotlib", "safetensors", "scipy"
        }:
            bad.add(name)
        if parts[0] == "rnnkit" and len(parts) > 1 and parts[1] != package:
            if parts[1] not in ALLOWED[package]:
                bad.add(name)
    assert not bad, f"{path.relative_to(SRC)} ({package}) imports {sorted(bad)}"


def test_every_subpackage_has_a_rule():
    packages = {p.name for p in SRC.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert packages - set(ALLOWED) == set()


def _rnnkit_imports(package: str) -> list[tuple[Path, str]]:
    return [(path, name) for path, pkg in _modules() if pkg == package
            for name in _imports(path) if name.startswith("rnnkit.")]


def test_training_never_imports_a_task_or_a_data_reader():
    bad = [f"{path.relative_to(SRC)} imports {name}" for path, name in _rnnkit_imports("training")
           if name.split(".")[1] in {"tasks", "export", "data", "models", "cli"}]
    assert not bad, bad


def test_a_task_imports_no_other_task():
    bad = []
    for path, name in _rnnkit_imports("tasks"):
        own = path.relative_to(SRC / "tasks").parts[0]
        parts = name.split(".")
        if len(parts) > 2 and parts[1] == "tasks" and parts[2] != own:
            bad.append(f"{path.relative_to(SRC)} imports {name}")
    assert not bad, bad


def test_every_task_package_has_a_config_and_a_pipeline():
    for task in ("forecast", "classify", "text", "tutorial"):
        folder = SRC / "tasks" / task
        for name in ("__init__.py", "config.py", "pipeline.py"):
            assert (folder / name).is_file(), f"tasks/{task}/{name}"
